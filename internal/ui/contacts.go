package ui

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
)

// consentStates are the states the contacts list filters a purpose by.
var consentStates = []string{"granted", "withdrawn", "objected", "refused", "pending", "expired", "none"}

type contactsData struct {
	Query, Light   string
	Purpose, State string
	Source         string
	Restricted     bool
	Purposes       []purposeOption
	Sources        []ledger.Source
	States         []string
	Persons        []*ledger.Person
	Next           template.URL // the next page, with the filters
}

// contactsFilter reads the list's filters from the query string.
func contactsFilter(q url.Values) (contactsData, ledger.PersonFilter) {
	d := contactsData{Query: q.Get("q"), Light: q.Get("light"), Purpose: q.Get("purpose"), State: q.Get("state"),
		Source: q.Get("source"), Restricted: q.Get("restricted") == "1", States: consentStates}
	f := ledger.PersonFilter{Query: d.Query, Light: ledger.Light(d.Light), Purpose: d.Purpose, Source: d.Source, Limit: 50}
	if d.Purpose != "" {
		f.PurposeState = d.State
	}
	if d.Restricted {
		f.Status = ledger.StatusRestricted
	}
	return d, f
}

// values are the filters as a query string, for the paging links.
func (d contactsData) values() url.Values {
	v := url.Values{}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("q", d.Query)
	set("light", d.Light)
	set("purpose", d.Purpose)
	set("state", d.State)
	set("source", d.Source)
	if d.Restricted {
		v.Set("restricted", "1")
	}
	return v
}

func (s *Server) contacts(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	q := r.URL.Query()
	d, f := contactsFilter(q)
	f.Cursor = q.Get("cursor")
	ps, next, err := s.ledger.ListPersons(ctx, f)
	if de, ok := ledger.AsError(err); ok {
		s.fail(w, p, http.StatusUnprocessableEntity, translate(p.Lang, "error.invalid", de.Message))
		return
	}
	var purposes []*ledger.Purpose
	if err == nil {
		purposes, err = s.ledger.Purposes(ctx, false)
	}
	if err == nil {
		d.Sources, err = s.ledger.Sources(ctx)
	}
	if err != nil {
		s.failErr(w, p, err, "list contacts")
		return
	}
	for _, pu := range purposes {
		d.Purposes = append(d.Purposes, purposeOption{Key: pu.Key, Name: purposeName(pu, p.Lang)})
	}
	d.Persons = ps
	if next != "" {
		v := d.values()
		v.Set("cursor", next)
		d.Next = template.URL("/contacts?" + v.Encode())
	}
	p.Title, p.Data = translate(p.Lang, "contacts.title"), d
	s.render(w, http.StatusOK, "contacts", p)
}

type contactData struct {
	Person     *ledger.Person
	Consents   []ledger.ConsentState
	History    []*ledger.ConsentEvent
	Purposes   []*ledger.Purpose
	Sources    []ledger.Source
	LegalBases []ledger.LegalBasis
}

func (s *Server) contact(w http.ResponseWriter, r *http.Request, p page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
		return
	}
	ctx := r.Context()
	d, err := s.loadLegal(ctx, id)
	d.LegalBases = ledger.LegalBases
	if err == nil {
		d.Purposes, err = s.ledger.Purposes(ctx, false)
	}
	if err == nil {
		d.Sources, err = s.ledger.Sources(ctx)
	}
	if de, ok := ledger.AsError(err); ok && de.Kind == ledger.KindNotFound {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "contact card")
		return
	}
	if r.URL.Query().Get("recorded") == "1" {
		p.Flash = translate(p.Lang, "flash.recorded")
	}
	p.Title, p.Data = d.Person.FirstName+" "+d.Person.LastName, d
	s.render(w, http.StatusOK, "contact", p)
}

// loadLegal loads what the contact card's legal basis section shows: the
// person, their current consents and their consent history.
func (s *Server) loadLegal(ctx context.Context, id int64) (contactData, error) {
	var d contactData
	var err error
	d.Person, err = s.ledger.Person(ctx, id)
	if err == nil {
		d.Consents, err = s.ledger.Consents(ctx, id)
	}
	if err == nil {
		d.History, err = s.ledger.History(ctx, id, "")
	}
	return d, err
}

// recordConsent records a consent event from the contact card's form.
func (s *Server) recordConsent(w http.ResponseWriter, r *http.Request, p page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
		return
	}
	actor := audit.Actor{Type: "user", ID: strconv.FormatInt(p.Session.User.ID, 10)}
	evidence := ledger.Evidence{Note: r.PostFormValue("note")}
	// An optional evidence file: a checked-in e-mail, a signature image.
	if f, h, ferr := r.FormFile("evidence"); ferr == nil {
		content, rerr := io.ReadAll(io.LimitReader(f, ledger.MaxEvidenceFile+1))
		f.Close()
		if rerr != nil {
			s.fail(w, p, http.StatusBadRequest, translate(p.Lang, "error.invalid", rerr.Error()))
			return
		}
		if len(content) > 0 {
			evidence.Files = []ledger.File{{Name: h.Filename, MediaType: h.Header.Get("Content-Type"), Content: content}}
		}
	}
	_, err = s.ledger.RecordConsent(r.Context(), actor, ledger.ConsentInput{
		PersonID: id, Purpose: r.PostFormValue("purpose"), Kind: ledger.EventKind(r.PostFormValue("kind")),
		LegalBasis: ledger.LegalBasis(r.PostFormValue("legal_basis")), Source: r.PostFormValue("source"),
		Evidence: evidence, Reason: r.PostFormValue("note"),
	})

	if err != nil {
		s.failErr(w, p, err, "record consent")
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(id, 10)+"?recorded=1", http.StatusSeeOther)
}

// evidence serves an evidence file by its SHA-256 to staff who may see contacts.
func (s *Server) evidence(w http.ResponseWriter, r *http.Request, p page) {
	f, err := s.ledger.EvidenceFile(r.Context(), r.PathValue("sha256"))
	if de, ok := ledger.AsError(err); ok && de.Kind == ledger.KindNotFound {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "evidence file")
		return
	}
	w.Header().Set("Content-Type", f.MediaType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.SHA256+`"`)
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Write(f.Content)
}

type newContactData struct {
	In      ledger.PersonInput
	Sources []ledger.Source
}

// newContact shows the form to create a contact.
func (s *Server) newContact(w http.ResponseWriter, r *http.Request, p page) {
	s.renderNewContact(w, r, p, http.StatusOK, ledger.PersonInput{Language: p.Lang})
}

func (s *Server) renderNewContact(w http.ResponseWriter, r *http.Request, p page, status int, in ledger.PersonInput) {
	srcs, err := s.ledger.Sources(r.Context())
	if err != nil {
		s.failErr(w, p, err, "sources")
		return
	}
	p.Title, p.Data = translate(p.Lang, "contacts.new"), newContactData{In: in, Sources: srcs}
	s.render(w, status, "contact_new", p)
}

// createContact creates a contact and opens its card.
func (s *Server) createContact(w http.ResponseWriter, r *http.Request, p page) {
	in := ledger.PersonInput{FirstName: r.PostFormValue("first_name"), LastName: r.PostFormValue("last_name"),
		Language: r.PostFormValue("language"), Source: r.PostFormValue("source")}
	if e := strings.TrimSpace(r.PostFormValue("email")); e != "" {
		in.Emails = []string{e}
	}
	if ph := strings.TrimSpace(r.PostFormValue("phone")); ph != "" {
		in.Phones = []ledger.Phone{{Number: ph}}
	}
	person, err := s.ledger.CreatePerson(r.Context(), audit.Actor{Type: "user", ID: strconv.FormatInt(p.Session.User.ID, 10)}, in)
	if de, ok := ledger.AsError(err); ok {
		msg := de.Message
		for _, f := range de.Fields {
			msg += "; " + f.Field + ": " + f.Message
		}
		p.Error = translate(p.Lang, "error.invalid", msg)
		s.renderNewContact(w, r, p, http.StatusUnprocessableEntity, in)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "create contact")
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(person.ID, 10), http.StatusSeeOther)
}
