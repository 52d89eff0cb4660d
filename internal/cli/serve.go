package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/consento/consento/internal/api"
	"github.com/consento/consento/internal/receipt"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/ui"
	"github.com/consento/consento/internal/webserver"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the Consento server (migrates the database first)",
		Action: func(ctx context.Context, cmd *cli.Command) error {
			e, err := openEnv(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer e.Close()
			stopMail := e.startMailWorker(ctx)
			defer stopMail()
			signer, err := receipt.Load(ctx, e.db)
			if err != nil {
				return err
			}
			srv := api.New(e.db, e.ledger, e.auth, signer, receipt.Controller{
				Name: e.cfg.ControllerName, Contact: e.cfg.ControllerContact, PrivacyNoticeURL: e.cfg.PrivacyNoticeURL,
				Jurisdiction: "EU", Issuer: e.cfg.PublicURL,
			}, e.log)
			staff, err := ui.New(e.ledger, e.auth, e.log, strings.HasPrefix(e.cfg.PublicURL, "https://"))
			if err != nil {
				return err
			}
			staff.TrustProxies(e.cfg.TrustedProxies)
			hooks := e.webhooks()
			srv.EnableWebhooks(hooks)
			staff.EnableWebhooks(hooks)
			stopHooks := e.startWebhooks(ctx, hooks)
			defer stopHooks()
			public, stopPublic, err := e.selfService(ctx, staff)
			if err != nil {
				return err
			}
			defer stopPublic()
			ln, err := net.Listen("tcp", e.cfg.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", e.cfg.Addr, err)
			}
			hs := webserver.New(withPublic(routes(srv, staff), public), uploadRoutes, webserver.Defaults)
			out := cmd.Root().Writer
			fmt.Fprintf(out, "Consento is running at %s (database: %s)\n", e.cfg.PublicURL, e.cfg.Redacted())
			fmt.Fprintf(out, "Staff log in at %s/login\n", e.cfg.PublicURL)
			if users, err := e.auth.Users(ctx); err == nil && len(users) == 0 {
				fmt.Fprintf(out, "No staff user yet. Create the first admin, and an API token (printed once):\n  consento user create --email you@example.com --role admin\n  consento token create --name quickstart\n")
			}
			go expireConsents(ctx, e)
			if e.secrets != nil {
				go e.secrets.Run(ctx, 30*time.Second) // key rotation and newly sensitive fields, resumed
			}
			go rights.New(e.ledger).Run(ctx, time.Hour, func(err error) { e.log.Warn("rights reminders and escalations", "err", err) })
			go e.scheduleRetention(ctx)
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			e.log.Info("shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
}

// routes sends the API and operational endpoints to the API server and
// everything else to the staff UI.
func routes(api, staff http.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/healthz", "/readyz", "/metrics", "/.well-known/"} {
		mux.Handle(p, api)
	}
	mux.Handle("/", staff)
	return mux
}

// uploadRoutes are the routes whose request bodies are uploads (a list to
// check, records to import, a file to keep): they may take as long as
// they keep moving. Every other body must arrive within
// webserver.Defaults.Body.
var uploadRoutes = []string{
	"POST /api/v1/consent-checks",
	"POST /api/v1/consent-events", // evidence files, up to 32 MiB
	"POST /api/v1/activities/import",
	"POST /api/v1/business-records/import",
	"POST /api/v1/persons/{id}/documents",
	"POST /api/v1/breaches/{id}/persons",
	"POST /lists/check",
	"POST /consent-requests",
	"POST /breaches/{id}/persons",
	"POST /contacts/{id}/documents",
	"POST /contacts/{id}/consents", // with an evidence file
}

// expireConsents records the expiry of grants past their valid_until, once
// a minute, until ctx ends.
func expireConsents(ctx context.Context, e *env) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		for {
			n, err := e.ledger.ExpireDue(ctx, 500)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Error("consent expiry", "err", err)
				}
				break
			}
			if n > 0 {
				e.log.Info("consents expired", "count", n)
			}
			if n < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
