// Package api is Consento's REST API under /api/v1: JSON, bearer tokens
// with scopes, RFC 9457 problem details, idempotent POSTs, described by the
// OpenAPI 3.1 document it serves at /api/v1/openapi.json.
package api

import (
	"context"
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/receipt"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/webhook"
)

//go:embed openapi.json
var openapiDoc []byte

// Controller describes the data controller named in consent receipts.
type Controller = receipt.Controller

// Server serves the REST API and the operational endpoints.
type Server struct {
	db         *store.DB
	ledger     *ledger.Service
	auth       *auth.Service
	signer     *receipt.Signer
	controller Controller
	log        *slog.Logger
	mux        *http.ServeMux
	patterns   []string
	metrics    *metrics
	webhookSvc *webhook.Service
}

// New builds the API server.
func New(db *store.DB, l *ledger.Service, a *auth.Service, signer *receipt.Signer, c Controller, log *slog.Logger) *Server {
	s := &Server{db: db, ledger: l, auth: a, signer: signer, controller: c, log: log, mux: http.NewServeMux()}
	s.metrics = newMetrics(db)
	s.routes()
	return s
}

// Patterns lists every route pattern the server registered.
func (s *Server) Patterns() []string { return s.patterns }

func (s *Server) handle(pattern string, h http.Handler) {
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, h)
}

// scoped wraps a handler that needs a bearer token holding scope.
func (s *Server) scoped(scope string, h func(http.ResponseWriter, *http.Request, *auth.Token)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !tok.Has(scope) {
			problem(w, r, http.StatusForbidden, "insufficient-scope", "Insufficient scope", "this token lacks the scope "+scope, nil)
			return
		}
		h(w, r, tok)
	})
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*auth.Token, bool) {
	h := r.Header.Get("Authorization")
	secret, found := strings.CutPrefix(h, "Bearer ")
	if !found || secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="consento"`)
		problem(w, r, http.StatusUnauthorized, "unauthorized", "Authentication required", "send an API token as Authorization: Bearer <token>", nil)
		return nil, false
	}
	tok, err := s.auth.LookupToken(r.Context(), strings.TrimSpace(secret))
	if err != nil {
		if err != auth.ErrBadToken {
			s.internal(w, r, err)
			return nil, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="consento", error="invalid_token"`)
		problem(w, r, http.StatusUnauthorized, "invalid-token", "Invalid token", "the API token is unknown, revoked or expired", nil)
		return nil, false
	}
	return tok, true
}

func (s *Server) routes() {
	s.handle("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	s.handle("GET /readyz", http.HandlerFunc(s.ready))
	s.handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	s.handle("GET /api/v1/openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapiDoc)
	}))
	jwks := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(s.signer.JWKS())
	})
	s.handle("GET /.well-known/jwks.json", jwks)
	s.handle("GET /api/v1/receipts/jwks.json", jwks)

	s.handle("GET /api/v1/persons", s.scoped("persons:read", s.listPersons))
	s.handle("POST /api/v1/persons", s.scoped("persons:write", s.createPerson))
	s.handle("POST /api/v1/persons/find-by-email", s.scoped("persons:read", s.findPerson))
	s.handle("GET /api/v1/persons/{id}", s.scoped("persons:read", s.getPerson))
	s.handle("PATCH /api/v1/persons/{id}", s.scoped("persons:write", s.updatePerson))
	s.handle("GET /api/v1/persons/{id}/consents", s.scoped("consents:read", s.personConsents))
	s.handle("GET /api/v1/persons/{id}/consents/{purpose}", s.scoped("consents:read", s.personConsent))
	s.handle("GET /api/v1/persons/{id}/consent-events", s.scoped("consents:read", s.personHistory))

	s.handle("GET /api/v1/organisations", s.scoped("persons:read", s.listOrganisations))
	s.handle("POST /api/v1/organisations", s.scoped("persons:write", s.createOrganisation))
	s.handle("GET /api/v1/organisations/{id}", s.scoped("persons:read", s.getOrganisation))
	s.handle("PUT /api/v1/organisations/{id}", s.scoped("persons:write", s.updateOrganisation))

	s.handle("POST /api/v1/consent-events", s.scoped("consents:write", s.recordConsent))
	s.handle("GET /api/v1/consent-events/{id}", s.scoped("consents:read", s.getConsentEvent))
	s.handle("GET /api/v1/consent-events/{id}/receipt", s.scoped("consents:read", s.getReceipt))
	s.handle("GET /api/v1/evidence/{sha256}", s.scoped("consents:read", s.getEvidence))
	s.handle("POST /api/v1/consent-checks", s.scoped("consents:read", s.bulkCheck))

	s.handle("GET /api/v1/purposes", s.scoped("config:read", s.listPurposes))
	s.handle("POST /api/v1/purposes", s.scoped("config:write", s.createPurpose))
	s.handle("GET /api/v1/purposes/{key}", s.scoped("config:read", s.getPurpose))
	s.handle("PATCH /api/v1/purposes/{key}", s.scoped("config:write", s.updatePurpose))
	s.handle("GET /api/v1/purposes/{key}/versions", s.scoped("config:read", s.purposeVersions))
	s.handle("GET /api/v1/legal-bases", s.scoped("config:read", s.listLegalBases))
	s.handle("GET /api/v1/sources", s.scoped("config:read", s.listSources))
	s.handle("POST /api/v1/sources", s.scoped("config:write", s.createSource))
	s.handle("PATCH /api/v1/sources/{key}", s.scoped("config:write", s.updateSource))
	s.handle("GET /api/v1/custom-fields", s.scoped("config:read", s.listCustomFields))
	s.handle("POST /api/v1/custom-fields", s.scoped("config:write", s.createCustomField))

	s.handle("GET /api/v1/audit-events", s.scoped("audit:read", s.listAudit))
	s.handle("POST /api/v1/audit-events/verify", s.scoped("audit:read", s.verifyAudit))

	s.recordRoutes()
	s.rightsRoutes()
	s.recipientRoutes()
	s.breachRoutes()
	s.webhookRoutes()
	s.sensitiveRoutes()
	s.retentionRoutes()

	s.mux.HandleFunc("/", s.notFound)
}

// notFound answers requests no route matched: 405 with Allow when the
// path exists for other methods, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		problem(w, r, http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", "this endpoint answers "+strings.Join(allow, ", "), nil)
		return
	}
	problem(w, r, http.StatusNotFound, "not-found", "Not found", "there is no such endpoint; see /api/v1/openapi.json", nil)
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("readiness check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// ServeHTTP serves a request with logging, metrics and panic recovery.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if rec := recover(); rec != nil {
			s.log.Error("panic serving request", "route", r.Pattern, "panic", rec)
			if !sw.wrote {
				problem(sw, r, http.StatusInternalServerError, "internal", "Internal error", "the request could not be completed", nil)
			}
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		s.metrics.latency.WithLabelValues(route).Observe(d.Seconds())
		if sw.status >= 500 {
			s.log.Warn("request", "route", route, "status", sw.status, "ms", d.Milliseconds())
		} else {
			s.log.Debug("request", "route", route, "status", sw.status, "ms", d.Milliseconds())
		}
	}()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	if e := input.CheckURL(r.URL); e != nil {
		if e.Where == "path" {
			problem(sw, r, http.StatusNotFound, "not-found", "Not found", "there is no such resource", nil)
		} else {
			problem(sw, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "the query parameter "+e.Field+" "+e.Err.Error(),
				[]ledger.FieldError{{Field: e.Field, Message: e.Err.Error()}})
		}
		return
	}
	s.mux.ServeHTTP(sw, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(db *store.DB) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consento_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "consento_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route"})
	m.reg.MustRegister(m.requests, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "consento_audit_head_seq", Help: "Sequence number of the newest audit event."}, func() float64 {
		var seq int64
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = db.QueryRow(ctx, `SELECT seq FROM audit_head WHERE id = 1`).Scan(&seq)
		return float64(seq)
	}))
	return m
}
