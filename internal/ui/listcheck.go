package ui

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
)

const (
	// maxUpload is the largest list the check accepts.
	maxUpload = 50 << 20
	// uploadMemory is how much of an upload is kept in memory while the
	// form is parsed; the rest goes to a temporary file.
	uploadMemory = 8 << 20
	// checkKeep is how long a check's downloads stay available.
	checkKeep = 30 * time.Minute
	// checkMax and checkMaxBytes bound the results kept in memory; the
	// oldest are dropped first.
	checkMax      = 20
	checkMaxBytes = 256 << 20
)

// checkReasons orders the verdict reasons on the result page.
var checkReasons = []string{
	ledger.ReasonAllowed, ledger.ReasonNoConsent, ledger.ReasonWithdrawn, ledger.ReasonRefused, ledger.ReasonObjected,
	ledger.ReasonRestricted, ledger.ReasonExpired, ledger.ReasonUnknown, ledger.ReasonInvalid,
}

// checkResult is one list check, kept in memory for its downloads.
type checkResult struct {
	ID          string
	PurposeName string
	Summary     ledger.CheckSummary
	owner       int64
	created     time.Time
	permitted   []byte // CSV: ref,person_id,reason
	blocked     []byte
}

func (c *checkResult) size() int { return len(c.permitted) + len(c.blocked) }

// checkStore keeps recent list checks in memory, for their owner only,
// for checkKeep. Its zero value is ready to use.
type checkStore struct {
	mu      sync.Mutex
	results map[string]*checkResult
	order   []string // oldest first
	bytes   int
}

func (cs *checkStore) put(c *checkResult) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.results == nil {
		cs.results = map[string]*checkResult{}
	}
	cs.results[c.ID] = c
	cs.order = append(cs.order, c.ID)
	cs.bytes += c.size()
	for len(cs.order) > 1 && (len(cs.order) > checkMax || cs.bytes > checkMaxBytes || time.Since(cs.results[cs.order[0]].created) > checkKeep) {
		cs.drop()
	}
}

func (cs *checkStore) drop() {
	old := cs.results[cs.order[0]]
	delete(cs.results, old.ID)
	cs.bytes -= old.size()
	cs.order = cs.order[1:]
}

// get returns the check id if owner ran it and it has not expired.
func (cs *checkStore) get(id string, owner int64) *checkResult {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for len(cs.order) > 0 && time.Since(cs.results[cs.order[0]].created) > checkKeep {
		cs.drop()
	}
	c := cs.results[id]
	if c == nil || c.owner != owner {
		return nil
	}
	return c
}

type purposeOption struct{ Key, Name string }

type reasonCount struct {
	Reason string
	Count  int
}

type listCheckData struct {
	Purposes []purposeOption
	Saved    []ledger.SavedFilter
	Purpose  string
	Filter   string
	Result   *checkResult
	Reasons  []reasonCount // blocked verdicts by reason
}

func purposeName(p *ledger.Purpose, lang string) string {
	if t, ok := p.Texts[lang]; ok && t.Name != "" {
		return t.Name
	}
	if t, ok := p.Texts["en"]; ok && t.Name != "" {
		return t.Name
	}
	return p.Key
}

func (s *Server) listCheckForm(ctx context.Context, p page, d *listCheckData) (page, error) {
	ps, err := s.ledger.Purposes(ctx, false)
	if err != nil {
		return p, err
	}
	for _, pu := range ps {
		d.Purposes = append(d.Purposes, purposeOption{Key: pu.Key, Name: purposeName(pu, p.Lang)})
	}
	if d.Saved, err = s.ledger.SavedFilters(ctx); err != nil {
		return p, err
	}
	p.Title, p.Data = i18n.T(p.Lang, "listcheck.title"), *d
	return p, nil
}

func (s *Server) listCheckPage(w http.ResponseWriter, r *http.Request, p page) {
	p, err := s.listCheckForm(r.Context(), p, &listCheckData{})
	if err != nil {
		s.failErr(w, p, err, "list check purposes")
		return
	}
	s.render(w, http.StatusOK, "listcheck", p)
}

// limitUpload caps the list check's request body at maxUpload and parses
// the multipart form before signedIn reads its CSRF token, so that a list
// too large is answered with a clear message, not as a missing token.
func (s *Server) limitUpload(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			next(w, r) // signedIn sends the visitor to the login page
			return
		}
		se, err := s.auth.Session(r.Context(), c.Value)
		if err != nil || se == nil || !Can(se.User.Role, "lists.check") {
			next(w, r) // signedIn answers, without reading the body
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxUpload+64<<10) // the list and the form's other fields
		err = r.ParseMultipartForm(uploadMemory)
		if err == nil || errors.Is(err, http.ErrNotMultipart) {
			next(w, r)
			return
		}
		p := page{Lang: se.User.Language, Session: se}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.fail(w, p, http.StatusRequestEntityTooLarge, i18n.T(p.Lang, "listcheck.error.too_large"))
			return
		}
		s.fail(w, p, http.StatusBadRequest, i18n.T(p.Lang, "listcheck.error.form"))
	}
}

// filterRefs yields the primary e-mail address (or, lacking one, the id)
// of every person the filter selects, a page at a time.
func (s *Server) filterRefs(ctx context.Context, f ledger.PersonFilter) func() (ledger.Ref, bool, error) {
	var persons []*ledger.Person
	done := false
	f.Limit = 500
	return func() (ledger.Ref, bool, error) {
		for len(persons) == 0 {
			if done {
				return ledger.Ref{}, false, nil
			}
			ps, next, err := s.ledger.ListPersons(ctx, f)
			if err != nil {
				return ledger.Ref{}, false, err
			}
			persons, f.Cursor, done = ps, next, next == ""
		}
		pe := persons[0]
		persons = persons[1:]
		if len(pe.Emails) > 0 {
			return ledger.ParseRef(pe.Emails[0]), true, nil
		}
		return ledger.ParseRef(strconv.FormatInt(pe.ID, 10)), true, nil
	}
}

// csvCell keeps a spreadsheet from reading a cell as a formula.
func csvCell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

func (s *Server) listCheckRun(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	d := listCheckData{Purpose: r.PostFormValue("purpose"), Filter: r.PostFormValue("filter")}
	unprocessable := func(msg string) {
		p.Error = msg
		s.render(w, http.StatusUnprocessableEntity, "error", p)
	}
	var next func() (ledger.Ref, bool, error)
	sizeHint := 0
	switch d.Filter {
	case string(ledger.Green), string(ledger.Yellow), string(ledger.Red):
		next = s.filterRefs(ctx, ledger.PersonFilter{Light: ledger.Light(d.Filter)})
	case "":
		var (
			f   multipart.File
			fh  *multipart.FileHeader
			err error
		)
		if r.MultipartForm != nil {
			f, fh, err = r.FormFile("file")
		}
		if r.MultipartForm == nil || err != nil || fh.Size == 0 {
			unprocessable(i18n.T(p.Lang, "listcheck.error.empty"))
			return
		}
		defer f.Close()
		next, sizeHint = ledger.CSVRefs(f), ledger.RefsInBytes(fh.Size)
	default:
		id, ok := strings.CutPrefix(d.Filter, "saved:")
		n, err := strconv.ParseInt(id, 10, 64)
		var sf *ledger.SavedFilter
		if ok && err == nil {
			sf, err = s.ledger.SavedFilterByID(ctx, n)
		}
		if !ok || err != nil {
			unprocessable(i18n.T(p.Lang, "listcheck.error.filter"))
			return
		}
		next = s.filterRefs(ctx, sf.Filter)
	}
	s.runCheck(w, r, p, d, sizeHint, next)
}

// runCheck checks the references next yields against d.Purpose, keeps the
// result for its downloads and renders the list check's result page. The
// list check and the contacts list's check of selected contacts use it.
func (s *Server) runCheck(w http.ResponseWriter, r *http.Request, p page, d listCheckData, sizeHint int, next func() (ledger.Ref, bool, error)) {
	ctx := r.Context()
	unprocessable := func(msg string) {
		p.Error = msg
		s.render(w, http.StatusUnprocessableEntity, "error", p)
	}
	pu, err := s.ledger.Purpose(ctx, d.Purpose)
	if _, ok := ledger.AsError(err); ok || err == nil && pu.Archived {
		unprocessable(i18n.T(p.Lang, "listcheck.error.purpose"))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "list check purpose")
		return
	}
	var permitted, blocked bytes.Buffer
	pw, bw := csv.NewWriter(&permitted), csv.NewWriter(&blocked)
	header := []string{"ref", "person_id", "reason"}
	pw.Write(header)
	bw.Write(header)
	rec := make([]string, 3)
	sum, err := s.ledger.Check(ctx, pu.Key, sizeHint, next, func(v ledger.Verdict) error {
		rec[0], rec[1], rec[2] = csvCell(v.Ref), "", v.Reason
		if v.PersonID != 0 {
			rec[1] = strconv.FormatInt(v.PersonID, 10)
		}
		if v.Allowed {
			return pw.Write(rec)
		}
		return bw.Write(rec)
	})
	var refErr *ledger.RefError
	if errors.As(err, &refErr) {
		unprocessable(i18n.T(p.Lang, "listcheck.error.malformed", refErr.Line))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "list check")
		return
	}
	if sum.Total == 0 && d.Filter == "" {
		unprocessable(i18n.T(p.Lang, "listcheck.error.empty"))
		return
	}
	pw.Flush()
	bw.Flush()
	res := &checkResult{ID: rand.Text(), PurposeName: purposeName(pu, p.Lang), Summary: sum, owner: p.Session.User.ID,
		created: time.Now(), permitted: permitted.Bytes(), blocked: blocked.Bytes()}
	s.checks.put(res)
	d.Result = res
	for _, reason := range checkReasons {
		if n := sum.Reasons[reason]; n > 0 && reason != ledger.ReasonAllowed {
			d.Reasons = append(d.Reasons, reasonCount{Reason: reason, Count: n})
		}
	}
	p, err = s.listCheckForm(ctx, p, &d)
	if err != nil {
		s.failErr(w, p, err, "list check purposes")
		return
	}
	s.render(w, http.StatusOK, "listcheck", p)
}

func (s *Server) listCheckPermitted(w http.ResponseWriter, r *http.Request, p page) {
	s.listCheckDownload(w, r, p, "permitted")
}

func (s *Server) listCheckBlocked(w http.ResponseWriter, r *http.Request, p page) {
	s.listCheckDownload(w, r, p, "blocked")
}

func (s *Server) listCheckDownload(w http.ResponseWriter, r *http.Request, p page, which string) {
	c := s.checks.get(r.PathValue("id"), p.Session.User.ID)
	if c == nil {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "listcheck.error.gone"))
		return
	}
	body := c.permitted
	if which == "blocked" {
		body = c.blocked
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+which+`.csv"`)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
