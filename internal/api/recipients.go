package api

import (
	"net/http"
	"strconv"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/rights"
)

// The register of recipients of personal data (GDPR Art. 4(9), 28, 44)
// and the Art. 19 notices to them.

func (s *Server) recipientRoutes() {
	const base = "/api/v1/recipients"
	s.handle("GET "+base, s.scoped("rights:read", s.listRecipients))
	s.handle("POST "+base, s.scoped("rights:write", s.createRecipient))
	s.handle("GET "+base+"/{id}", s.scoped("rights:read", s.getRecipient))
	s.handle("PUT "+base+"/{id}", s.scoped("rights:write", s.updateRecipient))
	s.handle("DELETE "+base+"/{id}", s.scoped("rights:write", s.deactivateRecipient))
	s.handle("GET /api/v1/rights-requests/{id}/notices", s.scoped("rights:read", s.listNotices))
	s.handle("POST /api/v1/rights-requests/{id}/notify-recipients", s.scoped("rights:write", s.notifyRecipients))
}

func (s *Server) listRecipients(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	var activeOnly bool
	switch r.URL.Query().Get("active") {
	case "", "all":
	case "true":
		activeOnly = true
	default:
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "active must be true or all", nil)
		return
	}
	out, err := s.rights().Recipients(r.Context(), activeOnly)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[*rights.Recipient]{Items: out})
}

func (s *Server) createRecipient(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in rights.RecipientInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	out, err := s.rights().CreateRecipient(r.Context(), tok.Actor(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/recipients/"+strconv.FormatInt(out.ID, 10))
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getRecipient(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.rights().Recipient(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateRecipient(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in rights.RecipientInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	out, err := s.rights().UpdateRecipient(r.Context(), tok.Actor(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// deactivateRecipient answers DELETE: recipients are deactivated, never
// deleted, so the notices sent to them stay on their cases.
func (s *Server) deactivateRecipient(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.rights().SetRecipientActive(r.Context(), tok.Actor(), id, false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listNotices(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if _, err := s.rights().Request(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.rights().Notices(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[rights.Notice]{Items: out})
}

func (s *Server) notifyRecipients(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.rights().NotifyRecipients(r.Context(), tok.Actor(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[rights.Notice]{Items: out})
}
