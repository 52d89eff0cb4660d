package ui

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/breach"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
)

// The breach register (GDPR Art. 33, 34): the list with the 72-hour
// countdown, a form for a new incident, and the incident page with its
// description, affected persons, the notification of the authority, the
// notices to the persons and the timeline. Admins and privacy officers
// only.

func init() {
	pageNames = append(pageNames, "breaches", "breach")
	for _, role := range []string{auth.RoleAdmin, auth.RolePrivacyOfficer} {
		permissions[role]["breaches.manage"] = true
	}
}

// maxBreachUpload bounds the persons form: pasted and uploaded addresses.
const maxBreachUpload = 8 << 20

func (s *Server) breachRoutes() {
	s.handle("GET /breaches", "breaches.manage", s.breachesPage)
	s.handle("POST /breaches", "breaches.manage", s.createBreach)
	s.handle("GET /breaches/{id}", "breaches.manage", s.breachPage)
	s.handle("POST /breaches/{id}", "breaches.manage", s.updateBreach)
	s.routes = append(s.routes, Route{"POST /breaches/{id}/persons", "breaches.manage"})
	s.mux.HandleFunc("POST /breaches/{id}/persons", limitBody(maxBreachUpload, s.signedIn("breaches.manage", s.linkBreachPersons)))
	s.handle("POST /breaches/{id}/authority", "breaches.manage", s.breachAuthority)
	s.handle("POST /breaches/{id}/persons/{person}/unlink", "breaches.manage", s.unlinkBreachPerson)
	s.handle("POST /breaches/{id}/notify", "breaches.manage", s.notifyBreachPersons)
	s.handle("POST /breaches/{id}/entries", "breaches.manage", s.addBreachEntry)
}

func (s *Server) breaches() *breach.Service {
	b := breach.New(s.ledger.DB())
	if s.out != nil {
		b.SetController(s.out.Config().Controller)
	}
	return b
}

// breachRow is an incident with its countdown, worded for the page.
type breachRow struct {
	*breach.Breach
	Countdown string // "41 h 12 min left", "overdue by 5 h 3 min", "notified in time" …
	Light     string // green, yellow or red
}

func newBreachRow(lang string, b *breach.Breach, now time.Time) breachRow {
	r := breachRow{Breach: b, Light: "green"}
	cd := b.Countdown(now)
	switch b.AuthorityState {
	case breach.StatePending:
		r.Countdown = i18n.T(lang, "breaches.left", cd.Hours, cd.Minutes)
		if cd.Left <= 24*time.Hour {
			r.Light = "yellow"
		}
	case breach.StateOverdue:
		r.Countdown, r.Light = i18n.T(lang, "breaches.overdue_by", cd.Hours, cd.Minutes), "red"
	case breach.StateNotifiedLate:
		r.Countdown, r.Light = i18n.T(lang, "label.breach_state.notified_late"), "yellow"
	default:
		r.Countdown = i18n.T(lang, "label.breach_state."+b.AuthorityState)
	}
	return r
}

type breachesData struct {
	Filter    string
	Filters   []string
	Breaches  []breachRow
	Form      breachForm
	Message   string
	DataCats  []string
	SubjCats  []string
	Risks     []string
	OpenCount int
	Overdue   int
}

// breachForm is the incident form as typed.
type breachForm struct {
	breach.Input
	Aware, Occurred      string // datetime-local values (UTC)
	DataOther, SubjOther string // free-text categories, comma-separated
}

// Has reports whether the form lists a category.
func (f breachForm) Has(c string) bool {
	return slices.Contains(f.DataCategories, c) || slices.Contains(f.SubjectCategories, c)
}

const localTime = input.LocalMinute

func formOf(b *breach.Breach) breachForm {
	f := breachForm{Input: breach.Input{Title: b.Title, Description: b.Description, DetectedBy: b.DetectedBy, ApproxPersons: b.ApproxPersons,
		ApproxRecords: b.ApproxRecords, Consequences: b.Consequences, Measures: b.Measures, Risk: b.Risk, DPOContact: b.DPOContact, Status: b.Status},
		Aware: b.AwareAt.UTC().Format(localTime)}
	if b.OccurredAt != nil {
		f.Occurred = b.OccurredAt.UTC().Format(localTime)
	}
	var other []string
	for _, c := range b.DataCategories {
		if slices.Contains(breach.DataCategories, c) {
			f.DataCategories = append(f.DataCategories, c)
		} else {
			other = append(other, c)
		}
	}
	f.DataOther, other = strings.Join(other, ", "), nil
	for _, c := range b.SubjectCategories {
		if slices.Contains(breach.SubjectCategories, c) {
			f.SubjectCategories = append(f.SubjectCategories, c)
		} else {
			other = append(other, c)
		}
	}
	f.SubjOther = strings.Join(other, ", ")
	return f
}

// readBreachForm reads the incident form; bad dates and numbers come back
// as the field that is wrong.
func readBreachForm(r *http.Request) (breachForm, string) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := breachForm{Input: breach.Input{Title: v("title"), Description: v("description"), DetectedBy: v("detected_by"), Consequences: v("consequences"),
		Measures: v("measures"), Risk: v("risk"), DPOContact: v("dpo_contact"), Status: v("status")}, Aware: v("aware_at"), Occurred: v("occurred_at"),
		DataOther: v("data_other"), SubjOther: v("subject_other")}
	f.DataCategories = append(f.DataCategories, r.PostForm["data_category"]...)
	f.SubjectCategories = append(f.SubjectCategories, r.PostForm["subject_category"]...)
	bad := ""
	if f.Aware != "" {
		if t, err := input.Minute(f.Aware); err == nil {
			f.AwareAt = &t
		} else {
			bad = "aware_at"
		}
	}
	if f.Occurred != "" {
		if t, err := input.Minute(f.Occurred); err == nil {
			f.OccurredAt = &t
		} else {
			bad = "occurred_at"
		}
	}
	for _, n := range []struct {
		key string
		dst **int64
	}{{"approx_persons", &f.ApproxPersons}, {"approx_records", &f.ApproxRecords}} {
		if s := v(n.key); s != "" {
			if x, err := strconv.ParseInt(s, 10, 64); err == nil {
				*n.dst = &x
			} else {
				bad = n.key
			}
		}
	}
	return f, bad
}

// input is the form as the register takes it: free text added to the
// chosen categories.
func (f breachForm) input() breach.Input {
	in := f.Input
	in.DataCategories = append(slices.Clone(in.DataCategories), strings.Split(f.DataOther, ",")...)
	in.SubjectCategories = append(slices.Clone(in.SubjectCategories), strings.Split(f.SubjOther, ",")...)
	return in
}

func (s *Server) renderBreaches(w http.ResponseWriter, r *http.Request, p page, d breachesData, status int) {
	d.Filters = []string{"open", "closed", "all"}
	if d.Filter == "" {
		d.Filter = "open"
	}
	svc := s.breaches()
	list, err := svc.List(r.Context(), breach.Filter{Status: d.Filter})
	if err == nil {
		d.OpenCount, d.Overdue, err = svc.OpenCount(r.Context())
	}
	if err != nil {
		s.failErr(w, p, err, "breaches page")
		return
	}
	now := time.Now()
	for _, b := range list {
		d.Breaches = append(d.Breaches, newBreachRow(p.Lang, b, now))
	}
	d.DataCats, d.SubjCats, d.Risks = breach.DataCategories, breach.SubjectCategories, breach.Risks
	if d.Form.Risk == "" {
		d.Form.Risk = breach.RiskSome
	}
	p.Title, p.Data = i18n.T(p.Lang, "breaches.title"), d
	s.render(w, status, "breaches", p)
}

func (s *Server) breachesPage(w http.ResponseWriter, r *http.Request, p page) {
	f := r.URL.Query().Get("status")
	if f != "" && f != "open" && f != "closed" && f != "all" {
		f = "open"
	}
	s.renderBreaches(w, r, p, breachesData{Filter: f, Form: breachForm{Aware: time.Now().UTC().Format(localTime)}}, http.StatusOK)
}

// formError is the message for a refused form: the domain's message, or
// the field whose value could not be read.
func formError(p page, err error, bad string) (string, int, bool) {
	if bad != "" {
		return i18n.T(p.Lang, "error.invalid", i18n.Label(p.Lang, "field", bad)), http.StatusUnprocessableEntity, true
	}
	if de, ok := ledger.AsError(err); ok && de.Kind != ledger.KindNotFound {
		return i18n.T(p.Lang, "error.invalid", problemText(p.Lang, de)), domainStatus(de), true
	}
	return "", 0, false
}

func (s *Server) createBreach(w http.ResponseWriter, r *http.Request, p page) {
	f, bad := readBreachForm(r)
	var b *breach.Breach
	var err error
	if bad == "" {
		b, err = s.breaches().Create(r.Context(), userActor(p), f.input())
	}
	if msg, status, ok := formError(p, err, bad); ok {
		s.renderBreaches(w, r, p, breachesData{Form: f, Message: msg}, status)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "create breach")
		return
	}
	http.Redirect(w, r, "/breaches/"+strconv.FormatInt(b.ID, 10)+"?done=created", http.StatusSeeOther)
}

type breachData struct {
	Row        breachRow
	Form       breachForm
	Typed      bool // Form holds what was typed, not the stored values
	Message    string
	DataCats   []string
	SubjCats   []string
	Risks      []string
	Statuses   []string
	Persons    []breach.AffectedPerson
	More       int // linked persons beyond those listed
	Preview    *breach.NoticeReport
	Entries    []entryRow
	EntryKinds []string
	Now        string // datetime-local value of now (UTC)
	CanNotify  bool   // the incident holds what a notice must say
}

// maxListed is how many linked persons the page lists.
const maxListed = 500

func (s *Server) renderBreach(w http.ResponseWriter, r *http.Request, p page, id int64, d breachData, status int) {
	ctx, svc := r.Context(), s.breaches()
	b, err := svc.Get(ctx, id)
	if err != nil {
		s.failErr(w, p, err, "breach page")
		return
	}
	d.Row = newBreachRow(p.Lang, b, time.Now())
	if !d.Typed {
		d.Form = formOf(b)
	}
	if d.Persons, err = svc.Persons(ctx, id); err == nil {
		d.Preview, err = svc.PreviewNotice(ctx, id)
	}
	var entries []breach.Entry
	if err == nil {
		entries, err = svc.Entries(ctx, id)
	}
	for _, e := range entries {
		d.Entries = append(d.Entries, entryRow{Entry: e, Text: entryText(p.Lang, b, e)})
	}
	if err != nil {
		s.failErr(w, p, err, "breach page")
		return
	}
	if len(d.Persons) > maxListed {
		d.More, d.Persons = len(d.Persons)-maxListed, d.Persons[:maxListed]
	}
	d.CanNotify = b.Description != "" && b.DPOContact != "" && b.Consequences != "" && b.Measures != ""
	d.DataCats, d.SubjCats, d.Risks, d.Statuses = breach.DataCategories, breach.SubjectCategories, breach.Risks, breach.Statuses
	d.EntryKinds, d.Now = breach.ManualEntryKinds, time.Now().UTC().Format(localTime)
	q := r.URL.Query()
	switch done := q.Get("done"); done {
	case "":
	case "linked":
		n := func(k string) int { v, _ := strconv.Atoi(q.Get(k)); return v }
		p.Flash = i18n.T(p.Lang, "breaches.flash.linked", n("added"), n("matched"), n("already"), n("unmatched"), n("invalid"))
	case "notified":
		v, _ := strconv.Atoi(q.Get("mailed"))
		p.Flash = i18n.T(p.Lang, "breaches.flash.notified", v)
	default:
		p.Flash = i18n.T(p.Lang, "breaches.flash."+done)
	}
	p.Title, p.Data = i18n.T(p.Lang, "breaches.incident", b.ID, b.Title), d
	s.render(w, status, "breach", p)
}

func (s *Server) breachPage(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	s.renderBreach(w, r, p, id, breachData{}, http.StatusOK)
}

func (s *Server) updateBreach(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	f, bad := readBreachForm(r)
	cur, err := s.breaches().Get(r.Context(), id)
	if err != nil {
		s.failErr(w, p, err, "update breach")
		return
	}
	// The form shows minutes: an unchanged time keeps its seconds.
	if f.Aware == cur.AwareAt.Format(localTime) {
		f.AwareAt = &cur.AwareAt
	}
	if cur.OccurredAt != nil && f.Occurred == cur.OccurredAt.Format(localTime) {
		f.OccurredAt = cur.OccurredAt
	}
	if bad == "" {
		_, err = s.breaches().Update(r.Context(), userActor(p), id, f.input())
	}
	if msg, status, ok := formError(p, err, bad); ok {
		s.renderBreach(w, r, p, id, breachData{Form: f, Typed: true, Message: msg}, status)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "update breach")
		return
	}
	http.Redirect(w, r, "/breaches/"+strconv.FormatInt(id, 10)+"?done=saved", http.StatusSeeOther)
}

// linkBreachPersons links persons by ids and by pasted or uploaded e-mail
// addresses, and says how many matched.
func (s *Server) linkBreachPersons(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	var in breach.LinkInput
	for _, f := range breach.SplitAddresses(r.PostFormValue("person_ids")) {
		pid, err := strconv.ParseInt(strings.TrimPrefix(f, "#"), 10, 64)
		if err != nil || pid <= 0 {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "person_ids: "+f))
			return
		}
		in.PersonIDs = append(in.PersonIDs, pid)
	}
	in.Emails = breach.SplitAddresses(r.PostFormValue("emails"))
	if f, _, err := r.FormFile("file"); err == nil {
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			s.fail(w, p, http.StatusRequestEntityTooLarge, i18n.T(p.Lang, "error.invalid", "file"))
			return
		}
		in.Emails = append(in.Emails, breach.SplitAddresses(strings.TrimPrefix(string(b), "\ufeff"))...)
	}
	res, err := s.breaches().LinkPersons(r.Context(), userActor(p), id, in)
	if err != nil {
		s.failErr(w, p, err, "link breach persons")
		return
	}
	q := url.Values{"done": {"linked"}, "added": {strconv.Itoa(res.Added)}, "matched": {strconv.Itoa(res.Matched)},
		"already": {strconv.Itoa(res.AlreadyLinked)}, "unmatched": {strconv.Itoa(res.Unmatched)}, "invalid": {strconv.Itoa(res.Invalid)}}
	http.Redirect(w, r, "/breaches/"+strconv.FormatInt(id, 10)+"?"+q.Encode()+"#persons", http.StatusSeeOther)
}

func (s *Server) breachAuthority(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	in := breach.AuthorityInput{Decision: r.PostFormValue("decision"), Authority: r.PostFormValue("authority"), Reference: r.PostFormValue("reference"),
		LateReason: r.PostFormValue("late_reason"), Reason: r.PostFormValue("reason")}
	if v := strings.TrimSpace(r.PostFormValue("notified_at")); v != "" {
		t, err := input.Minute(v)
		if err != nil {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "notified_at"))
			return
		}
		in.NotifiedAt = &t
	}
	if _, err := s.breaches().RecordAuthority(r.Context(), userActor(p), id, in); err != nil {
		s.failErr(w, p, err, "breach authority")
		return
	}
	http.Redirect(w, r, "/breaches/"+strconv.FormatInt(id, 10)+"?done=authority#authority", http.StatusSeeOther)
}

func (s *Server) notifyBreachPersons(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	res, err := s.breaches().NotifyPersons(r.Context(), userActor(p), id)
	if err != nil {
		s.failErr(w, p, err, "notify breach persons")
		return
	}
	http.Redirect(w, r, "/breaches/"+strconv.FormatInt(id, 10)+"?done=notified&mailed="+strconv.Itoa(res.Mailed)+"#notice", http.StatusSeeOther)
}

func (s *Server) addBreachEntry(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	in := breach.EntryInput{Kind: r.PostFormValue("kind"), Body: r.PostFormValue("body")}
	if v := strings.TrimSpace(r.PostFormValue("at")); v != "" {
		t, err := input.Minute(v)
		if err != nil {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", "at"))
			return
		}
		in.At = &t
	}
	if _, err := s.breaches().AddEntry(r.Context(), userActor(p), id, in); err != nil {
		s.failErr(w, p, err, "breach entry")
		return
	}
	http.Redirect(w, r, "/breaches/"+strconv.FormatInt(id, 10)+"?done=entry#timeline", http.StatusSeeOther)
}

// unlinkBreachPerson removes a person linked by mistake, with the reason.
func (s *Server) unlinkBreachPerson(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	pid, ok2 := pathInt(r, "person")
	if !ok || !ok2 {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if err := s.breaches().UnlinkPerson(r.Context(), userActor(p), id, pid, r.PostFormValue("reason")); err != nil {
		s.failErr(w, p, err, "breach unlink")
		return
	}
	http.Redirect(w, r, "/breaches/"+strconv.FormatInt(id, 10)+"?done=unlinked#persons", http.StatusSeeOther)
}

// breachBox is the dashboard's box of open incidents with their
// countdowns (nil for roles without the register).
type breachBox struct {
	Rows    []breachRow
	Overdue int
}

// dashboardBreaches gathers the dashboard box; a failure is logged and
// leaves the box out rather than the dashboard.
func (s *Server) dashboardBreaches(r *http.Request, p page) *breachBox {
	if !p.Can("breaches.manage") {
		return nil
	}
	list, err := s.breaches().List(r.Context(), breach.Filter{Status: breach.StatusOpen})
	if err != nil {
		s.log.Error("dashboard breaches", "err", err)
		return nil
	}
	box := &breachBox{}
	now := time.Now()
	for _, b := range list {
		row := newBreachRow(p.Lang, b, now)
		if b.AuthorityState == breach.StateOverdue {
			box.Overdue++
		}
		box.Rows = append(box.Rows, row)
	}
	// The nearest deadline first: the unresolved ones lead.
	slices.SortStableFunc(box.Rows, func(a, b breachRow) int {
		pa, pb := a.AuthorityState == breach.StatePending || a.AuthorityState == breach.StateOverdue, b.AuthorityState == breach.StatePending || b.AuthorityState == breach.StateOverdue
		switch {
		case pa && !pb:
			return -1
		case pb && !pa:
			return 1
		}
		return a.AwareAt.Compare(b.AwareAt)
	})
	return box
}

// entryRow is a timeline entry with its text in the reader's language.
type entryRow struct {
	breach.Entry
	Text string
}

var (
	// The texts the register writes itself (in English, for the API and
	// the audit log); the page words them again from their numbers.
	personsEntryRe  = regexp.MustCompile(`^Notice mailed to (\d+) persons; (\d+) cannot be mailed \(mail blocked (\d+), restricted (\d+), no address (\d+)\); (\d+) notified before\.$`)
	withdrawnNoteRe = regexp.MustCompile(`^Decision not to notify the authority withdrawn: the risk was reassessed as ([a-z_]+)\.$`)
)

// entryText is an entry's text for a reader of lang: the entries the
// register wrote itself are worded from their kind and numbers, what
// staff typed stays as typed.
func entryText(lang string, b *breach.Breach, e breach.Entry) string {
	switch {
	case e.Kind == breach.EntryAuthority && b.AuthorityNotifiedAt != nil && e.At.Equal(*b.AuthorityNotifiedAt):
		s := b.AuthorityName
		if b.AuthorityReference != "" {
			s = i18n.T(lang, "breaches.entry.authority.text", b.AuthorityName, b.AuthorityReference)
		}
		if b.AuthorityLateReason != "" {
			s += ". " + i18n.T(lang, "breaches.entry.authority.late", b.AuthorityLateReason)
		}
		return s
	case e.Kind == breach.EntryPersons:
		if m := personsEntryRe.FindStringSubmatch(e.Body); m != nil {
			n := make([]int, len(m)-1)
			for i, v := range m[1:] {
				n[i], _ = strconv.Atoi(v)
			}
			return i18n.N(lang, "breaches.entry.persons.text", n[0], n[0], n[1], n[2], n[3], n[4], n[5])
		}
	case e.Kind == breach.EntryNote:
		if m := withdrawnNoteRe.FindStringSubmatch(e.Body); m != nil && slices.Contains(breach.Risks, m[1]) {
			return i18n.T(lang, "breaches.entry.withdrawn", i18n.T(lang, "breaches.risk."+m[1]))
		}
	}
	return e.Body
}
