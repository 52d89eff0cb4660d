package cli

import (
	"context"
	"net/http"

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
// pages (outbox, mail templates, forms, consent requests).
func (e *env) selfService(ctx context.Context, staff *ui.Server) (http.Handler, error) {
	svc, err := e.outreach(ctx)
	if err != nil {
		return nil, err
	}
	staff.EnableOutreach(svc)
	return selfservice.New(svc, e.log, selfservice.Options{Proxies: e.cfg.TrustedProxies})
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
