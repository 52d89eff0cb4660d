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
	"github.com/consento/consento/internal/i18n"
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
	Saved          []savedLink  // the saved filters, to apply or delete
	Filtered       bool         // a condition is set: it can be saved
}

type savedLink struct {
	ID   int64
	Name string
	URL  template.URL
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

// filterValues is a saved filter as the list's query string.
func filterValues(f ledger.PersonFilter) url.Values {
	d := contactsData{Query: f.Query, Light: string(f.Light), Purpose: f.Purpose, State: f.PurposeState, Source: f.Source,
		Restricted: f.Status == ledger.StatusRestricted}
	return d.Values()
}

// saveFilter saves the list's current filters under a name.
func (s *Server) saveFilter(w http.ResponseWriter, r *http.Request, p page) {
	d, f := contactsFilter(r.PostForm)
	actor := audit.Actor{Type: "user", ID: strconv.FormatInt(p.Session.User.ID, 10)}
	if _, err := s.ledger.SaveFilter(r.Context(), actor, r.PostFormValue("name"), f); err != nil {
		s.failErr(w, p, err, "save filter")
		return
	}
	v := d.Values()
	v.Set("saved", "1")
	http.Redirect(w, r, "/contacts?"+v.Encode(), http.StatusSeeOther)
}

// deleteFilter deletes a saved filter.
func (s *Server) deleteFilter(w http.ResponseWriter, r *http.Request, p page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	actor := audit.Actor{Type: "user", ID: strconv.FormatInt(p.Session.User.ID, 10)}
	if err := s.ledger.DeleteFilter(r.Context(), actor, id); err != nil {
		s.failErr(w, p, err, "delete filter")
		return
	}
	http.Redirect(w, r, "/contacts", http.StatusSeeOther)
}

// Values are the filters as a query string, for the paging links and the
// form that saves them.
func (d contactsData) Values() url.Values {
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
	if q.Get("saved") == "1" {
		p.Flash = i18n.T(p.Lang, "flash.filter_saved")
	}
	ps, next, err := s.ledger.ListPersons(ctx, f)
	if de, ok := ledger.AsError(err); ok {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", problemText(p.Lang, de)))
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
	d.Filtered = len(d.Values()) > 0
	saved, err := s.ledger.SavedFilters(ctx)
	if err != nil {
		s.failErr(w, p, err, "saved filters")
		return
	}
	for _, sf := range saved {
		d.Saved = append(d.Saved, savedLink{ID: sf.ID, Name: sf.Name, URL: template.URL("/contacts?" + filterValues(sf.Filter).Encode())})
	}
	if next != "" {
		v := d.Values()
		v.Set("cursor", next)
		d.Next = template.URL("/contacts?" + v.Encode())
	}
	p.Title, p.Data = i18n.T(p.Lang, "contacts.title"), d
	s.render(w, http.StatusOK, "contacts", p)
}

type contactData struct {
	Person       *ledger.Person
	Organisation string
	Consents     []ledger.ConsentState
	Granted      int // purposes with a valid grant
	History      []*ledger.ConsentEvent
	Purposes     []*ledger.Purpose
	Sources      []ledger.Source
	LegalBases   []ledger.LegalBasis
	Open         bool                           // the Legal basis dialog is shown open
	OOB          bool                           // a fragment also updates the field that opens the dialog
	Preset       struct{ Purpose, Kind string } // chosen in the record form
	// ManualSources are the active sources staff may pick in the record
	// form (not the ones only Consento records).
	ManualSources []ledger.Source
	// Objections are the purposes whose current state is an objection: the
	// record form warns that only the person's own new consent lifts one.
	Objections []objectionNote
	Names      names // in the staff user's language
	// The manual retention date ("" none), and why setting it was refused.
	RetainUntil, RetentionError string
	// The sensitive fields a value can be entered for, and why storing
	// one was refused.
	SensitiveFields []ledger.CustomField
	SensitiveError  string
}

// contact shows the contact card; ?legal=open opens its Legal basis dialog.
func (s *Server) contact(w http.ResponseWriter, r *http.Request, p page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if r.URL.Query().Get("recorded") == "1" {
		p.Flash = i18n.T(p.Lang, "flash.recorded")
	}
	s.renderCard(w, r, p, id, http.StatusOK, r.URL.Query().Get("legal") == "open")
}

// preset fills the record form from a row's action (?purpose=…&kind=…).
func preset(d *contactData, q url.Values) {
	if k := ledger.EventKind(q.Get("kind")); k == ledger.Withdrawn || k == ledger.Objected {
		d.Preset.Purpose, d.Preset.Kind = q.Get("purpose"), string(k)
	}
}

// renderCard renders the card, or for an htmx request from the dialog only
// the dialog's content (with the field that opens it, out of band).
func (s *Server) renderCard(w http.ResponseWriter, r *http.Request, p page, id int64, status int, open bool) {
	d, err := s.loadCard(r.Context(), id, p.Lang)
	if de, ok := ledger.AsError(err); ok && de.Kind == ledger.KindNotFound {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "contact card")
		return
	}
	d.Open = open
	preset(&d, r.URL.Query())
	p.Title, p.Data = d.Person.FirstName+" "+d.Person.LastName, d
	if r.Header.Get("HX-Request") == "true" {
		d.OOB = true
		p.Data = d
		s.renderFragment(w, status, "contact", "legalbasis", p)
		return
	}
	s.render(w, status, "contact", p)
}

// loadCard loads what the contact card and its Legal basis dialog show.
func (s *Server) loadCard(ctx context.Context, id int64, lang string) (contactData, error) {
	d, err := s.loadLegal(ctx, id)
	if err != nil {
		return d, err
	}
	d.LegalBases = ledger.LegalBases
	for _, c := range d.Consents {
		if c.Valid {
			d.Granted++
		}
	}
	if d.Person.OrganisationID != nil {
		o, err := s.ledger.Organisation(ctx, *d.Person.OrganisationID)
		if err != nil {
			return d, err
		}
		d.Organisation = o.Name
	}
	all, err := s.ledger.Purposes(ctx, true) // archived ones may still have a history
	if err != nil {
		return d, err
	}
	for _, pu := range all {
		if !pu.Archived {
			d.Purposes = append(d.Purposes, pu)
		}
	}
	if d.Sources, err = s.ledger.Sources(ctx); err != nil {
		return d, err
	}
	if d.RetainUntil, err = s.retention().RetainUntil(ctx, id); err != nil {
		return d, err
	}
	if d.SensitiveFields, err = s.ledger.SensitiveFields(ctx); err != nil {
		return d, err
	}
	d.Names = newNames(lang, all, d.Sources)
	for _, src := range d.Sources {
		if src.Active && src.Manual {
			d.ManualSources = append(d.ManualSources, src)
		}
	}
	for _, c := range d.Consents {
		if c.State != ledger.Objected {
			continue
		}
		for _, pu := range all {
			if pu.Key == c.Purpose {
				d.Objections = append(d.Objections, objectionNote{Purpose: d.Names.Purpose(pu.Key), DirectMarketing: pu.DirectMarketing()})
			}
		}
	}
	return d, nil
}

// objectionNote is a purpose under objection, as the record form warns of it.
type objectionNote struct {
	Purpose         string // its name
	DirectMarketing bool   // Art. 21(3): absolute
}

// loadLegal loads what the Legal basis dialog and its export show: the
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

// recordConsent records a consent event (grant, withdrawal, objection) from
// the Legal basis dialog and shows the dialog again.
func (s *Server) recordConsent(w http.ResponseWriter, r *http.Request, p page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	actor := audit.Actor{Type: "user", ID: strconv.FormatInt(p.Session.User.ID, 10)}
	// Staff say how the person told them: the source is required, and
	// the ones only Consento records cannot be claimed by hand.
	switch src := r.PostFormValue("source"); {
	case src == "":
		p.Error = i18n.T(p.Lang, "card.source_required")
	case !ledger.IsManualSource(src):
		p.Error = i18n.T(p.Lang, "card.source_not_manual")
	}
	if p.Error != "" {
		s.renderCard(w, r, p, id, http.StatusUnprocessableEntity, true)
		return
	}
	evidence := ledger.Evidence{Note: r.PostFormValue("note")}
	// An optional evidence file: a checked-in e-mail, a signature image.
	if f, h, ferr := r.FormFile("evidence"); ferr == nil {
		content, rerr := io.ReadAll(io.LimitReader(f, ledger.MaxEvidenceFile+1))
		f.Close()
		if rerr != nil {
			s.fail(w, p, http.StatusBadRequest, i18n.T(p.Lang, "error.invalid", rerr.Error()))
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
	if de, ok := ledger.AsError(err); ok && de.Kind != ledger.KindNotFound {
		// The dialog again, with the reason.
		p.Error = i18n.T(p.Lang, "error.invalid", problemText(p.Lang, de))
		s.renderCard(w, r, p, id, domainStatus(de), true)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "record consent")
		return
	}
	if r.Header.Get("HX-Request") == "true" {
		p.Flash = i18n.T(p.Lang, "flash.recorded")
		s.renderCard(w, r, p, id, http.StatusOK, true)
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(id, 10)+"?recorded=1&legal=open#legal-basis", http.StatusSeeOther)
}

// viewable are the evidence types a browser shows safely.
var viewable = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "application/pdf": true, "text/plain": true, "text/plain; charset=utf-8": true}

// evidence serves an evidence file by its SHA-256 to staff who may see contacts.
func (s *Server) evidence(w http.ResponseWriter, r *http.Request, p page) {
	f, err := s.ledger.EvidenceFile(r.Context(), r.PathValue("sha256"))
	if de, ok := ledger.AsError(err); ok && de.Kind == ledger.KindNotFound {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "evidence file")
		return
	}
	// ?view=1 shows images, PDF and plain text in the browser; anything
	// else, and everything without it, is a download. Either way the file
	// runs sandboxed and is never sniffed into another type.
	disposition := "attachment"
	if r.URL.Query().Get("view") == "1" && viewable[f.MediaType] {
		disposition = "inline"
	}
	w.Header().Set("Content-Type", f.MediaType)
	w.Header().Set("Content-Disposition", disposition+`; filename="`+f.SHA256+`"`)
	w.Header().Set("Content-Security-Policy", "sandbox")
	w.Header().Set("X-Content-Type-Options", "nosniff")
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
	p.Title, p.Data = i18n.T(p.Lang, "contacts.new"), newContactData{In: in, Sources: srcs}
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
		p.Error = i18n.T(p.Lang, "error.invalid", problemText(p.Lang, de))
		s.renderNewContact(w, r, p, http.StatusUnprocessableEntity, in)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "create contact")
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(person.ID, 10), http.StatusSeeOther)
}
