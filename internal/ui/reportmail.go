package ui

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/mail"
)

// outboxAttachment hands staff a file sent with an outbox mail, always
// as a download (never shown in the browser, whatever its media type).
func (s *Server) outboxAttachment(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if !ok || err != nil {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	a, err := mail.AttachmentContent(r.Context(), s.out.DB(), id, n)
	if err != nil {
		s.outreachError(w, p, err, "outbox attachment")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	h.Set("Content-Length", strconv.Itoa(len(a.Content)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(a.Content)
}

// requestReportEmail e-mails the Art. 15 report of an access request, as
// a PDF, to the verified address of the case.
func (s *Server) requestReportEmail(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if _, err := s.rights().EmailReport(r.Context(), userActor(p), id); err != nil {
		s.failErr(w, p, err, "e-mail access report")
		return
	}
	http.Redirect(w, r, "/requests/"+strconv.FormatInt(id, 10)+"?done=report_email", http.StatusSeeOther)
}
