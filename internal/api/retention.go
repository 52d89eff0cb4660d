package api

import (
	"net/http"
	"strconv"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/retention"
)

// Retention (GDPR Art. 5(1)(e)): settings, who has expired and why, sweeps
// and manual per-person retention dates.

func (s *Server) retentionRoutes() {
	const base = "/api/v1/retention"
	s.handle("GET "+base+"/settings", s.scoped("retention:read", s.retentionSettings))
	s.handle("PUT "+base+"/settings", s.scoped("retention:write", s.saveRetentionSettings))
	s.handle("GET "+base+"/expired", s.scoped("retention:read", s.retentionExpired))
	s.handle("GET "+base+"/sweeps", s.scoped("retention:read", s.retentionSweeps))
	s.handle("POST "+base+"/sweeps", s.scoped("retention:write", s.runRetentionSweep))
	s.handle("GET /api/v1/persons/{id}/retention", s.scoped("retention:read", s.personRetention))
	s.handle("PUT /api/v1/persons/{id}/retention", s.scoped("retention:write", s.setPersonRetention))
}

func (s *Server) retention() *retention.Service { return retention.New(s.ledger, retention.Instance()) }

func (s *Server) retentionSettings(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	st, err := s.retention().Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) saveRetentionSettings(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in struct {
		InactiveDays int    `json:"inactive_days"`
		Action       string `json:"action"`
		Scheduled    bool   `json:"scheduled"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	st, err := s.retention().SaveSettings(r.Context(), tok.Actor(), retention.Settings{InactiveDays: in.InactiveDays, Action: in.Action, Scheduled: in.Scheduled})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) retentionExpired(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	list, err := s.retention().Preview(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, expiredPage(list))
}

type expiredItem struct {
	retention.Expired
	Why string `json:"why"`
}

func expiredPage(list []retention.Expired) items[expiredItem] {
	out := make([]expiredItem, len(list))
	for i, e := range list {
		out[i] = expiredItem{Expired: e, Why: e.Why()}
	}
	return items[expiredItem]{Items: out}
}

func (s *Server) retentionSweeps(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "limit must be a number from 1 to 1000", nil)
			return
		}
		limit = n
	}
	out, err := s.retention().Sweeps(r.Context(), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[retention.Sweep]{Items: out})
}

func (s *Server) runRetentionSweep(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in struct {
		DryRun bool `json:"dry_run"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	rep, err := s.retention().Run(r.Context(), tok.Actor(), in.DryRun)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := expiredPage(rep.Persons)
	writeJSON(w, http.StatusOK, struct {
		retention.Sweep
		Persons []expiredItem `json:"persons"`
	}{rep.Sweep, page.Items})
}

type personRetention struct {
	PersonID    int64  `json:"person_id"`
	RetainUntil string `json:"retain_until"`
}

func (s *Server) personRetention(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	v, err := s.retention().RetainUntil(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, personRetention{PersonID: id, RetainUntil: v})
}

func (s *Server) setPersonRetention(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in struct {
		RetainUntil string `json:"retain_until"`
		Reason      string `json:"reason"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	if err := s.retention().SetRetainUntil(r.Context(), tok.Actor(), id, in.RetainUntil, in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.retention().RetainUntil(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, personRetention{PersonID: id, RetainUntil: v})
}
