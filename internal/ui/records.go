package ui

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/rights"
)

// A contact's linked records: activities, documents, relationships,
// orders and invoices, with forms to add an activity and a document, and
// the contact's request cases.
func init() {
	pageNames = append(pageNames, "records")
}

func (s *Server) recordRoutes() {
	s.handle("GET /contacts/{id}/records", "contacts.view", s.recordsPage)
	s.handle("POST /contacts/{id}/activities", "contacts.edit", s.addActivity)
	s.handle("POST /contacts/{id}/documents", "contacts.edit", s.addDocument)
	s.handle("GET /documents/{id}", "contacts.edit", s.documentDownload)
}

type recordsData struct {
	Person          *ledger.Person
	Activities      []records.Activity
	Documents       []records.Document
	Relationships   []records.Relationship
	BusinessRecords []records.BusinessRecord
	Requests        []*rights.Request
	Kinds           []string
	CanRequests     bool
}

func (s *Server) recordsPage(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	ctx := r.Context()
	rec := records.New(s.ledger.DB())
	d := recordsData{Kinds: records.ActivityKinds, CanRequests: Can(p.Session.User.Role, "requests.view")}
	var err error
	d.Person, err = s.ledger.Person(ctx, id)
	if err == nil {
		d.Activities, err = rec.Activities(ctx, id)
	}
	if err == nil {
		d.Documents, err = rec.Documents(ctx, id)
	}
	if err == nil {
		d.Relationships, err = rec.Relationships(ctx, id)
	}
	if err == nil {
		d.BusinessRecords, err = rec.BusinessRecords(ctx, id)
	}
	if err == nil && d.CanRequests {
		d.Requests, err = s.rights().Requests(ctx, rights.RequestFilter{State: "all", PersonID: id})
	}
	if err != nil {
		s.failErr(w, p, err, "linked records")
		return
	}
	if r.URL.Query().Get("done") == "1" {
		p.Flash = i18n.T(p.Lang, "flash.recorded")
	}
	p.Title, p.Data = i18n.T(p.Lang, "records.title")+": "+strings.TrimSpace(d.Person.FirstName+" "+d.Person.LastName), d
	s.render(w, http.StatusOK, "records", p)
}

func (s *Server) addActivity(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	in := records.ActivityInput{PersonID: id, Kind: r.PostFormValue("kind"), Subject: r.PostFormValue("subject"), Body: r.PostFormValue("body")}
	if v := r.PostFormValue("occurred_on"); v != "" {
		t, err := input.Date(v)
		if err != nil {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "occurred_on: YYYY-MM-DD"))
			return
		}
		in.OccurredAt = &t
	}
	if _, err := records.New(s.ledger.DB()).AddActivity(r.Context(), userActor(p), in); err != nil {
		s.failErr(w, p, err, "add activity")
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(id, 10)+"/records?done=1", http.StatusSeeOther)
}

func (s *Server) addDocument(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	f, h, err := r.FormFile("file")
	if err != nil {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "file"))
		return
	}
	content, err := io.ReadAll(io.LimitReader(f, records.MaxDocument+1))
	f.Close()
	if err != nil {
		s.fail(w, p, http.StatusBadRequest, i18n.T(p.Lang, "error.invalid", "file"))
		return
	}
	_, err = records.New(s.ledger.DB()).AddDocument(r.Context(), userActor(p), records.DocumentInput{PersonID: id, Filename: h.Filename, MediaType: h.Header.Get("Content-Type"), Content: content})
	if err != nil {
		s.failErr(w, p, err, "add document")
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(id, 10)+"/records?done=1", http.StatusSeeOther)
}

func (s *Server) documentDownload(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	d, err := records.New(s.ledger.DB()).Document(r.Context(), id)
	if err != nil {
		s.failErr(w, p, err, "download document")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(d.Filename)+`"`)
	w.Header().Set("Content-Length", strconv.FormatInt(d.Size, 10))
	w.Write(d.Content)
}
