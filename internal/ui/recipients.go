package ui

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
)

// The register of recipients (settings) and the Art. 19 notices on the
// case page.

func init() {
	pageNames = append(pageNames, "settings_recipients")
}

func (s *Server) recipientRoutes() {
	s.handle("GET /settings/recipients", "settings.edit", s.recipientsPage)
	s.handle("POST /settings/recipients", "settings.edit", s.createRecipient)
	s.handle("GET /settings/recipients/{id}", "settings.edit", s.recipientPage)
	s.handle("POST /settings/recipients/{id}", "settings.edit", s.updateRecipient)
	s.handle("POST /settings/recipients/{id}/active", "settings.edit", s.setRecipientActive)
	s.handle("POST /requests/{id}/notify-recipients", "requests.manage", s.notifyRecipients)
}

type recipientsData struct {
	Recipients []*rights.Recipient
	Purposes   []*ledger.Purpose
	Names      names // purposes by name, in the staff user's language
	Kinds      []string
	Langs      []string
	EditID     int64 // the recipient being edited; 0 adds one
	Form       rights.RecipientInput
	Message    string
	Errors     []ledger.FieldError
}

// Selected reports whether the form lists the purpose.
func (d recipientsData) Selected(id int64) bool { return slices.Contains(d.Form.PurposeIDs, id) }

func (s *Server) renderRecipients(w http.ResponseWriter, r *http.Request, p page, d recipientsData, status int) {
	var err error
	if d.Recipients, err = s.rights().Recipients(r.Context(), false); err == nil {
		d.Purposes, err = s.ledger.Purposes(r.Context(), false)
	}
	if err != nil {
		s.failErr(w, p, err, "recipients page")
		return
	}
	d.Names = newNames(p.Lang, d.Purposes, nil)
	d.Kinds, d.Langs = rights.RecipientKinds, []string{"en", "de", "da"}
	if d.Form.Language == "" {
		d.Form.Language = p.Lang
	}
	p.Title, p.Data = i18n.T(p.Lang, "recipients.title"), d
	s.render(w, status, "settings_recipients", p)
}

func (s *Server) recipientsPage(w http.ResponseWriter, r *http.Request, p page) {
	p.Flash = settingsFlash(p, r.URL.Query())
	s.renderRecipients(w, r, p, recipientsData{Form: rights.RecipientInput{Kind: rights.KindProcessor}}, http.StatusOK)
}

func (s *Server) recipientPage(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	rc, err := s.rights().Recipient(r.Context(), id)
	if err != nil {
		s.failErr(w, p, err, "recipient page")
		return
	}
	s.renderRecipients(w, r, p, recipientsData{EditID: id, Form: rights.RecipientInput{Name: rc.Name, Kind: rc.Kind, Email: rc.Email,
		Country: rc.Country, Language: rc.Language, PurposeIDs: rc.PurposeIDs}}, http.StatusOK)
}

// recipientForm reads the add/edit form.
func recipientForm(r *http.Request) (rights.RecipientInput, bool) {
	in := rights.RecipientInput{Name: r.PostFormValue("name"), Kind: r.PostFormValue("kind"), Email: strings.TrimSpace(r.PostFormValue("email")),
		Country: r.PostFormValue("country"), Language: r.PostFormValue("language")}
	for _, v := range r.PostForm["purpose"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return in, false
		}
		in.PurposeIDs = append(in.PurposeIDs, id)
	}
	return in, true
}

// recipientRefused shows a refused change on the page with the form as typed.
func (s *Server) recipientRefused(w http.ResponseWriter, r *http.Request, p page, d recipientsData, err error, what string) {
	de, ok := ledger.AsError(err)
	if !ok {
		s.failErr(w, p, err, what)
		return
	}
	if de.Kind == ledger.KindNotFound {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	d.Message, d.Errors = de.Message, de.Fields
	s.renderRecipients(w, r, p, d, domainStatus(de))
}

func (s *Server) createRecipient(w http.ResponseWriter, r *http.Request, p page) {
	in, ok := recipientForm(r)
	if !ok {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "purpose"))
		return
	}
	if _, err := s.rights().CreateRecipient(r.Context(), userActor(p), in); err != nil {
		s.recipientRefused(w, r, p, recipientsData{Form: in}, err, "create recipient")
		return
	}
	http.Redirect(w, r, "/settings/recipients?saved=created", http.StatusSeeOther)
}

func (s *Server) updateRecipient(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	in, ok := recipientForm(r)
	if !ok {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "purpose"))
		return
	}
	if _, err := s.rights().UpdateRecipient(r.Context(), userActor(p), id, in); err != nil {
		s.recipientRefused(w, r, p, recipientsData{EditID: id, Form: in}, err, "update recipient")
		return
	}
	http.Redirect(w, r, "/settings/recipients?saved=1", http.StatusSeeOther)
}

func (s *Server) setRecipientActive(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if _, err := s.rights().SetRecipientActive(r.Context(), userActor(p), id, r.PostFormValue("active") == "1"); err != nil {
		s.failErr(w, p, err, "recipient active")
		return
	}
	http.Redirect(w, r, "/settings/recipients?saved=1", http.StatusSeeOther)
}

// caseNotices is the Art. 19 block of the case page.
type caseNotices struct {
	Applies   bool // the case type calls for notices
	Notices   []rights.Notice
	Pending   []*rights.Recipient // who a notice would reach now
	CanNotify bool
}

// recipientNotices gathers the case page's Art. 19 block.
func (s *Server) recipientNotices(r *http.Request, req *rights.Request, person *ledger.Person) (*caseNotices, error) {
	c := &caseNotices{Applies: slices.Contains(rights.NoticeTypes, req.Type)}
	if !c.Applies {
		return c, nil
	}
	var err error
	if c.Notices, err = s.rights().Notices(r.Context(), req.ID); err != nil {
		return nil, err
	}
	if len(c.Notices) == 0 && person != nil && person.Status != ledger.StatusAnonymized && req.Open() && req.Verified() {
		if c.Pending, err = s.rights().PersonRecipients(r.Context(), person.ID); err != nil {
			return nil, err
		}
		c.CanNotify = len(c.Pending) > 0
	}
	return c, nil
}

func (s *Server) notifyRecipients(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if _, err := s.rights().NotifyRecipients(r.Context(), userActor(p), id); err != nil {
		s.failErr(w, p, err, "notify recipients")
		return
	}
	http.Redirect(w, r, "/requests/"+strconv.FormatInt(id, 10)+"#recipient-notices", http.StatusSeeOther)
}
