package api

import (
	"net/http"

	"github.com/consento/consento/internal/auth"
)

func (s *Server) sensitiveRoutes() {
	s.handle("POST /api/v1/persons/{id}/sensitive/{key}/unmask", s.scoped("sensitive:unmask", s.unmaskSensitive))
	s.handle("POST /api/v1/persons/find-by-sensitive", s.scoped("persons:read", s.findBySensitive))
}

// unmaskSensitive answers the full value of one sensitive field; the
// reason is required and recorded in the audit log with the field.
func (s *Server) unmaskSensitive(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	w.Header().Set("Cache-Control", "no-store")
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	key := r.PathValue("key")
	v, err := s.ledger.UnmaskSensitive(r.Context(), tok.Actor(), id, key, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"field": key, "value": v})
}

// findBySensitive finds persons by the exact value of a searchable
// sensitive field, through its blind index; a POST keeps the value out
// of URLs and logs.
func (s *Server) findBySensitive(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	var in struct {
		Field string `json:"field"`
		Value string `json:"value"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	ps, err := s.ledger.FindBySensitive(r.Context(), in.Field, in.Value)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, personPage{Items: ps})
}
