package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
)

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	q := r.URL.Query()
	f := audit.Filter{ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"), Action: q.Get("action"), ActorID: q.Get("actor_id")}
	var fields []ledger.FieldError
	intParam := func(name string, dst *int64) {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				fields = append(fields, ledger.FieldError{Field: name, Message: "must be a positive number"})
			}
			*dst = n
		}
	}
	timeParam := func(name string, dst *time.Time) {
		if v := q.Get(name); v != "" {
			t, err := input.Time(v)
			if err != nil {
				fields = append(fields, ledger.FieldError{Field: name, Message: "must be an RFC 3339 time"})
			}
			*dst = t
		}
	}
	var limit int64
	intParam("person_id", &f.PersonID)
	intParam("before", &f.Before)
	intParam("limit", &limit)
	timeParam("since", &f.Since)
	timeParam("until", &f.Until)
	f.Limit = int(limit)
	if limit > 1000 {
		fields = append(fields, ledger.FieldError{Field: "limit", Message: "must be at most 1000"})
	}
	if len(fields) > 0 {
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "some query parameters are invalid", fields)
		return
	}
	evs, err := audit.List(r.Context(), s.db, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if evs == nil {
		evs = []audit.Event{}
	}
	page := map[string]any{"items": evs}
	if len(evs) > 0 && (f.Limit == 0 && len(evs) == 100 || len(evs) == f.Limit) {
		page["next_before"] = evs[len(evs)-1].Seq
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	rep, err := audit.Verify(r.Context(), s.db)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
