package cli

import (
	"context"
	"net/http"
	"time"

	"github.com/consento/consento/internal/outreach"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/selfservice"
	"github.com/consento/consento/internal/ui"
)

// outreach is the self-service domain for the configuration.
func (e *env) outreach(ctx context.Context) (*outreach.Service, error) {
	svc := outreach.New(e.db, e.ledger, outreach.Config{PublicURL: e.cfg.PublicURL, Controller: e.cfg.ControllerName, PrivacyURL: e.cfg.PrivacyNoticeURL,
		OpenErasureCase: rights.New(e.ledger).OpenSelfServiceErasureTx})
	return svc, svc.Init(ctx)
}

// selfService builds the public pages and gives the staff UI its outreach
// pages (outbox, mail templates, forms, consent requests). It starts the
// worker that does what the pages queue (link requests, form
// submissions); stop ends it and waits for it.
func (e *env) selfService(ctx context.Context, staff *ui.Server) (h http.Handler, stop func(), err error) {
	svc, err := e.outreach(ctx)
	if err != nil {
		return nil, nil, err
	}
	staff.EnableOutreach(svc)
	h, err = selfservice.New(svc, e.log, selfservice.Options{Proxies: e.cfg.TrustedProxies})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.RunPublicRequests(ctx, time.Second, func(err error) { e.log.Error("public requests", "err", err) })
	}()
	return h, func() { cancel(); <-done }, nil
}

// withPublic sends the public self-service paths to public and the rest
// to next. /.well-known/gpc.json is named exactly, so the API keeps the
// rest of /.well-known/.
func withPublic(next, public http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/p/", "/f/", "/u/", "/.well-known/gpc.json"} {
		mux.Handle(p, public)
	}
	mux.Handle("/", next)
	return mux
}
