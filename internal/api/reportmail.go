package api

import (
	"net/http"

	"github.com/consento/consento/internal/auth"
)

// reportEmail e-mails the Art. 15 report of a verified access request, as
// a PDF attachment, to the verified address of the case (the requester's
// address on the case, else the person's primary address). It answers
// 202: the mail is queued in the outbox, sent by the mail worker.
func (s *Server) reportEmail(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.rights().EmailReport(r.Context(), tok.Actor(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, out)
}
