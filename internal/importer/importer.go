// Package importer loads persons and their consents from a CSV file as a
// CRM exports it: one row per person, one column per field, and per purpose
// a column with the consent state.
//
// The whole import is one transaction: it either commits completely or, on
// an error or an interruption, leaves the database as it was. Rows that
// break the ledger's rules do not stop it; they are written, with their
// line number and the reason, to the rejects output.
//
// It is built for large files (a million rows in well under a minute on
// SQLite): the CSV streams through three stages that run concurrently —
// parse and validate, then allocate ids and check duplicates in the
// transaction, then encode and seal the audit events — and the rows are
// written with prepared multi-row INSERTs (ledger.Bulk).
package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/emailaddr"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// Actor is the audit actor of imported changes.
var Actor = audit.Actor{Type: "system", ID: "import"}

// Person fields a column can be mapped to. Consent columns are mapped as
// consent:<purpose>, consent_date:<purpose> and legal_basis:<purpose>.
var Fields = []string{"first_name", "last_name", "email", "phone", "street", "postal_code", "city", "country", "language", "organisation", "source"}

// Prefixes of the per-purpose consent columns.
const (
	ConsentPrefix     = "consent:"
	ConsentDatePrefix = "consent_date:"
	LegalBasisPrefix  = "legal_basis:"
)

// aliases are the header names each field is found under by default
// (compared in lower case without spaces, '-', '_' and '.').
var aliases = map[string][]string{
	"first_name":   {"firstname", "givenname", "forename"},
	"last_name":    {"lastname", "surname", "familyname", "name"},
	"email":        {"email", "emails", "emailaddress", "mail"},
	"phone":        {"phone", "phones", "telephone", "phonenumber", "mobile", "tel"},
	"street":       {"street", "streetaddress", "address", "addressline1"},
	"postal_code":  {"postalcode", "postcode", "zip", "zipcode"},
	"city":         {"city", "town"},
	"country":      {"country", "countrycode"},
	"language":     {"language", "lang", "locale"},
	"organisation": {"organisation", "organization", "company", "account", "accountname"},
	"source":       {"source", "leadsource"},
}

// Duplicate handling.
const (
	OnDuplicateSkip   = "skip"
	OnDuplicateUpdate = "update"
)

// Options tune Run.
type Options struct {
	// Mapping maps a target field (see Fields, or consent:<purpose> …) to the
	// header of the column that holds it. Unmapped fields are looked up
	// under their usual names.
	Mapping map[string]string
	// Delimiter of the CSV; 0 detects ',', ';' or tab from the header line.
	Delimiter rune
	// DryRun validates everything, duplicates included, then rolls back.
	DryRun bool
	// OnDuplicate decides what happens to a row whose e-mail address
	// belongs to a person already (stored, or earlier in the file):
	// "skip" (default) rejects it, "update" records its consents for that person.
	OnDuplicate string
	// Rejects receives the rejected rows as CSV: line, reason, then the
	// original fields. Nothing is written when no row is rejected.
	Rejects io.Writer
	// Progress, when set, is called now and then from the import.
	Progress func(rowsDone, bytesRead int64)
	// Source is the source of persons and consents whose row names none
	// (default "import").
	Source string
	// Reason is recorded on every audit event (default "CSV import").
	Reason string
	// Evidence is the evidence note of every consent event; the row's line
	// number is appended (default "CSV import").
	Evidence string
	// BatchSize is the number of rows handled together (default 512).
	BatchSize int
}

// Report says what an import did.
type Report struct {
	Delimiter string            `json:"delimiter"`
	Columns   map[string]string `json:"columns"` // target field -> header
	Ignored   []string          `json:"ignored_columns,omitempty"`
	// Mapping is every column of the file in order, with the field it
	// was read into ("" when ignored).
	Mapping []ColumnMapping `json:"mapping,omitempty"`

	RowsRead      int64 `json:"rows_read"`
	Created       int64 `json:"persons_created"`
	Updated       int64 `json:"persons_updated"`
	Unchanged     int64 `json:"duplicates_unchanged,omitempty"` // update mode: duplicates without consents
	ConsentEvents int64 `json:"consent_events"`
	Organisations int64 `json:"organisations_created"`
	Rejected      int64 `json:"rejected"`
	// RejectReasons counts the rejected rows by reason code.
	RejectReasons map[string]int64 `json:"reject_reasons,omitempty"`

	DryRun bool `json:"dry_run"`
	// RolledBack: nothing of this import is in the database (dry run,
	// interruption or error).
	RolledBack  bool          `json:"rolled_back"`
	Interrupted bool          `json:"interrupted"`
	Duration    time.Duration `json:"duration"`
}

// ColumnMapping is what the import made of one column of the file.
type ColumnMapping struct {
	Column   string `json:"column"`   // the header
	Position int    `json:"position"` // 1 for the first column
	// Field is the target (see Fields, consent:<purpose> …); empty when
	// the column is ignored.
	Field string `json:"field,omitempty"`
	// By says how it was matched: "map" (Options.Mapping), "name" (the
	// header is the field's name) or "alias" (one of its usual names).
	By string `json:"by,omitempty"`
}

// RowsPerSecond is the import's throughput.
func (r Report) RowsPerSecond() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.RowsRead) / r.Duration.Seconds()
}

// ErrInterrupted is returned (wrapped) when the context ends the import.
var ErrInterrupted = errors.New("import interrupted: rolled back, nothing was imported")

var (
	errDryRun = errors.New("dry run")
)

// Run imports the CSV from r.
func Run(ctx context.Context, l *ledger.Service, r io.Reader, opts Options) (Report, error) {
	start := time.Now()
	rep := Report{DryRun: opts.DryRun, RejectReasons: map[string]int64{}}
	if opts.OnDuplicate == "" {
		opts.OnDuplicate = OnDuplicateSkip
	}
	if opts.OnDuplicate != OnDuplicateSkip && opts.OnDuplicate != OnDuplicateUpdate {
		return rep, fmt.Errorf("on-duplicate must be %s or %s, not %q", OnDuplicateSkip, OnDuplicateUpdate, opts.OnDuplicate)
	}
	if opts.Source == "" {
		opts.Source = "import"
	}
	if opts.Reason == "" {
		opts.Reason = "CSV import"
	}
	if opts.Evidence == "" {
		opts.Evidence = "CSV import"
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 512
	}
	counter := &countingReader{r: r}
	br := bufio.NewReaderSize(counter, 1<<20)
	input.SkipBOM(br)
	delim := opts.Delimiter
	if delim == 0 {
		delim = detectDelimiter(br)
	}
	rep.Delimiter = string(delim)
	cr := csv.NewReader(br)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return rep, errors.New("the file is empty: it needs a header line")
	}
	if err != nil {
		return rep, fmt.Errorf("the header line: %w", input.CSVError(err))
	}
	header = append([]string(nil), header...)
	for i := range header {
		if err := input.Text(header[i]); err != nil {
			return rep, fmt.Errorf("the header line, column %d: %w", i+1, err)
		}
		header[i] = strings.TrimSpace(header[i])
	}

	im := &run{l: l, opts: opts, rep: &rep, header: header, cr: cr, counter: counter, delim: delim, seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
	// Alone: the CSV is read as the transaction goes and cannot be read twice.
	err = l.DB().WriteAlone(ctx, func(tx *store.Tx) error {
		b, err := l.NewBulk(tx, Actor, opts.Reason)
		if err != nil {
			return err
		}
		im.bulk = b
		defer b.Close()
		if err := im.mapColumns(); err != nil {
			return err
		}
		if err := im.run(tx.Ctx()); err != nil {
			return err
		}
		if opts.DryRun {
			return errDryRun
		}
		return nil
	})
	if im.rejects != nil {
		im.rejects.Flush()
		if ferr := im.rejects.Error(); ferr != nil && err == nil {
			err = fmt.Errorf("write rejects: %w", ferr)
		}
	}
	rep.Duration = time.Since(start)
	switch {
	case errors.Is(err, errDryRun):
		rep.RolledBack = true
		return rep, nil
	case err != nil && ctx.Err() != nil:
		rep.RolledBack, rep.Interrupted = true, true
		return rep, fmt.Errorf("%w (%v)", ErrInterrupted, context.Cause(ctx))
	case err != nil:
		rep.RolledBack = true
		return rep, err
	}
	return rep, nil
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// detectDelimiter picks the most frequent of , ; and tab in the header line.
func detectDelimiter(br *bufio.Reader) rune {
	b, _ := br.Peek(64 << 10)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	counts := map[byte]int{}
	inQuote := false
	for _, c := range b {
		switch {
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ',' || c == ';' || c == '\t'):
			counts[c]++
		}
	}
	best := byte(',')
	for _, c := range []byte{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return rune(best)
}

type run struct {
	l       *ledger.Service
	bulk    *ledger.Bulk
	opts    Options
	rep     *Report
	header  []string
	cr      *csv.Reader
	counter *countingReader
	delim   rune

	col      map[string]int // person field -> column
	consents []consentCols
	rejects  *csv.Writer

	seed1, seed2 maphash.Seed
	seen         map[[2]uint64]int64 // e-mail hash -> person created by this import
	rowsDone     int64
}

type consentCols struct {
	purpose               string
	state, date, basis    int
	stateHdr, dateHdr, bh string
}

func normHeader(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch r {
		case ' ', '-', '_', '.':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mapColumns resolves which column holds which field.
func (im *run) mapColumns() error {
	hdrIndex := map[string][]int{}
	for i, h := range im.header {
		k := strings.ToLower(h)
		hdrIndex[k] = append(hdrIndex[k], i)
	}
	used := map[int]string{}    // column -> target
	how := map[int]string{}     // column -> how it was matched
	targets := map[string]int{} // target -> column
	known := map[string]bool{}
	for _, f := range Fields {
		known[f] = true
	}
	var problems []string
	purposeOK := func(target, key string) bool {
		if _, ok := im.bulk.Purpose(key); ok {
			return true
		}
		problems = append(problems, fmt.Sprintf("%s: there is no purpose %q (known purposes: %s)", target, key, strings.Join(im.bulk.PurposeKeys(), ", ")))
		return false
	}
	targetOK := func(target string) bool {
		if known[target] {
			return true
		}
		for _, p := range []string{ConsentPrefix, ConsentDatePrefix, LegalBasisPrefix} {
			if key, ok := strings.CutPrefix(target, p); ok {
				return purposeOK(target, key)
			}
		}
		problems = append(problems, fmt.Sprintf("%q is not a field to import: use one of %s, or %s<purpose>, %s<purpose>, %s<purpose>",
			target, strings.Join(Fields, ", "), ConsentPrefix, ConsentDatePrefix, LegalBasisPrefix))
		return false
	}
	mapped := make([]string, 0, len(im.opts.Mapping))
	for t := range im.opts.Mapping {
		mapped = append(mapped, t)
	}
	sort.Strings(mapped)
	for _, target := range mapped {
		hdr := im.opts.Mapping[target]
		target = strings.TrimSpace(target)
		if !targetOK(target) {
			continue
		}
		idx := hdrIndex[strings.ToLower(strings.TrimSpace(hdr))]
		switch {
		case len(idx) == 0:
			problems = append(problems, fmt.Sprintf("%s=%s: the file has no column %q (its columns: %s)", target, hdr, hdr, strings.Join(im.header, ", ")))
			continue
		case len(idx) > 1:
			problems = append(problems, fmt.Sprintf("%s=%s: the file has %d columns named %q", target, hdr, len(idx), hdr))
			continue
		}
		if other, ok := used[idx[0]]; ok {
			problems = append(problems, fmt.Sprintf("column %q is mapped to both %s and %s", hdr, other, target))
			continue
		}
		used[idx[0]] = target
		targets[target] = idx[0]
		how[idx[0]] = "map"
	}
	// Defaults for what was not mapped explicitly: a column named as the
	// field itself (last_name, "Last Name") first, whatever the order of
	// the columns, then the field's aliases (name for last_name), the
	// leftmost column where several match.
	for _, exact := range []bool{true, false} {
		for _, f := range Fields {
			if _, ok := targets[f]; ok {
				continue
			}
			for i, h := range im.header {
				if _, taken := used[i]; taken {
					continue
				}
				if n := normHeader(h); n == normHeader(f) || !exact && slices.Contains(aliases[f], n) {
					used[i], targets[f] = f, i
					how[i] = "alias"
					if exact {
						how[i] = "name"
					}
					break
				}
			}
		}
	}
	for i, h := range im.header {
		if _, taken := used[i]; taken {
			continue
		}
		lh := strings.ToLower(h)
		for _, p := range []string{ConsentPrefix, ConsentDatePrefix, LegalBasisPrefix} {
			if key, ok := strings.CutPrefix(lh, p); ok {
				target := p + strings.TrimSpace(key)
				if _, dup := targets[target]; dup {
					break
				}
				if purposeOK(h, strings.TrimSpace(key)) {
					used[i], targets[target] = target, i
					how[i] = "name"
				}
				break
			}
		}
	}
	im.col = map[string]int{}
	for _, f := range Fields {
		im.col[f] = -1
		if i, ok := targets[f]; ok {
			im.col[f] = i
		}
	}
	var purposes []string
	for t := range targets {
		for _, p := range []string{ConsentPrefix, ConsentDatePrefix, LegalBasisPrefix} {
			if key, ok := strings.CutPrefix(t, p); ok {
				if _, has := targets[ConsentPrefix+key]; !has {
					problems = append(problems, fmt.Sprintf("column %q (%s) needs a %s%s column beside it", im.header[targets[t]], t, ConsentPrefix, key))
				} else if p == ConsentPrefix {
					purposes = append(purposes, key)
				}
			}
		}
	}
	sort.Strings(purposes)
	for _, key := range purposes {
		cc := consentCols{purpose: key, state: targets[ConsentPrefix+key], date: -1, basis: -1}
		cc.stateHdr = im.header[cc.state]
		if i, ok := targets[ConsentDatePrefix+key]; ok {
			cc.date, cc.dateHdr = i, im.header[i]
		}
		if i, ok := targets[LegalBasisPrefix+key]; ok {
			cc.basis, cc.bh = i, im.header[i]
		}
		im.consents = append(im.consents, cc)
	}
	if im.col["email"] < 0 && im.col["first_name"] < 0 && im.col["last_name"] < 0 {
		problems = append(problems, "no column holds the e-mail address or the name (map one with email=<header>, first_name=… or last_name=…)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("cannot map the columns:\n  %s", strings.Join(problems, "\n  "))
	}
	im.rep.Columns = map[string]string{}
	for t, i := range targets {
		im.rep.Columns[t] = im.header[i]
	}
	for i, h := range im.header {
		t, ok := used[i]
		if !ok {
			im.rep.Ignored = append(im.rep.Ignored, h)
		}
		im.rep.Mapping = append(im.rep.Mapping, ColumnMapping{Column: h, Position: i + 1, Field: t, By: how[i]})
	}
	return nil
}

// row is one parsed CSV record.
type row struct {
	line     int64
	fields   []string
	code     string // set when rejected
	reason   string
	person   *ledger.Person
	org      string
	consents []ledger.ConsentInput
}

type rowBatch struct {
	rows []*row
	err  error // fatal read error after the rows
}

var kinds = map[string]ledger.EventKind{
	"granted": ledger.Granted, "withdrawn": ledger.Withdrawn, "refused": ledger.Refused,
	"objected": ledger.Objected, "pending": ledger.Pending,
}

// parse reads the CSV and validates each row (stage 1).
func (im *run) parse(ctx context.Context, out chan<- rowBatch) {
	defer close(out)
	n := len(im.header)
	batch := make([]*row, 0, im.opts.BatchSize)
	send := func(err error) bool {
		select {
		case out <- rowBatch{rows: batch, err: err}:
			batch = make([]*row, 0, im.opts.BatchSize)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		rec, err := im.cr.Read()
		if err == io.EOF {
			send(nil)
			return
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			batch = append(batch, &row{line: int64(pe.StartLine), fields: append([]string(nil), rec...), code: "csv-syntax",
				reason: "CSV syntax error: " + input.CSVReason(pe)})
		case err != nil:
			send(fmt.Errorf("read the file: %w", err))
			return
		case len(rec) != n:
			line, _ := im.cr.FieldPos(0)
			batch = append(batch, &row{line: int64(line), fields: append([]string(nil), rec...), code: "field-count",
				reason: fmt.Sprintf("the row has %d fields, the header %d", len(rec), n)})
		default:
			line, _ := im.cr.FieldPos(0)
			r := &row{line: int64(line), fields: append([]string(nil), rec...)}
			im.parseRow(r)
			batch = append(batch, r)
		}
		if len(batch) == cap(batch) {
			if !send(nil) {
				return
			}
		}
	}
}

func (im *run) get(r *row, field string) string {
	if i := im.col[field]; i >= 0 {
		return strings.TrimSpace(r.fields[i])
	}
	return ""
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' })
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (im *run) reject(r *row, code, reason string) {
	r.code, r.reason = code, reason
}

func (im *run) parseRow(r *row) {
	for i, f := range r.fields {
		if err := input.Text(f); err != nil {
			im.reject(r, "invalid-text", fmt.Sprintf("%s: %v", im.header[i], err))
			return
		}
	}
	emails := emailaddr.SplitList(im.get(r, "email")) // keeps "Berg, Anna" <anna@…> whole
	var phones []ledger.Phone
	for _, p := range splitList(strings.ReplaceAll(im.get(r, "phone"), ",", ";")) {
		phones = append(phones, ledger.Phone{Number: p})
	}
	source := im.get(r, "source")
	if source == "" {
		source = im.opts.Source
	}
	in := ledger.PersonInput{
		FirstName: im.get(r, "first_name"), LastName: im.get(r, "last_name"), Emails: emails, Phones: phones,
		Address:  ledger.Address{Street: im.get(r, "street"), PostalCode: im.get(r, "postal_code"), City: im.get(r, "city"), Country: im.get(r, "country")},
		Language: strings.ToLower(im.get(r, "language")), Source: source,
	}
	p, err := im.bulk.ValidatePerson(in)
	if err != nil {
		im.reject(r, code(err), im.personReason(err, emails, phones, in))
		return
	}
	r.person = p
	r.org = im.get(r, "organisation")
	now := time.Now()
	for _, cc := range im.consents {
		cell := strings.ToLower(strings.TrimSpace(r.fields[cc.state]))
		if cell == "" {
			continue
		}
		kind, ok := kinds[cell]
		if !ok {
			im.reject(r, "unknown-consent-state", fmt.Sprintf("%s: unknown consent state %q (use granted, withdrawn, refused, objected or pending, or leave it empty)", cc.stateHdr, r.fields[cc.state]))
			return
		}
		in := ledger.ConsentInput{Purpose: cc.purpose, Kind: kind, Source: source, Reason: im.opts.Reason,
			Evidence: ledger.Evidence{Note: im.opts.Evidence + ", line " + strconv.FormatInt(r.line, 10)}}
		if cc.date >= 0 {
			if d := strings.TrimSpace(r.fields[cc.date]); d != "" {
				t, err := parseDate(d)
				if err != nil {
					im.reject(r, "invalid-date", fmt.Sprintf("%s: %q is not a date (use YYYY-MM-DD or RFC 3339, e.g. 2024-05-31T14:00:00Z)", cc.dateHdr, d))
					return
				}
				in.OccurredAt = &t
			}
		}
		if cc.basis >= 0 {
			in.LegalBasis = ledger.LegalBasis(strings.ToLower(strings.TrimSpace(r.fields[cc.basis])))
		}
		if err := im.bulk.ValidateConsent(&in, now); err != nil {
			im.reject(r, code(err), cc.stateHdr+": "+consentReason(err))
			return
		}
		r.consents = append(r.consents, in)
	}
}

func parseDate(s string) (time.Time, error) { return input.DateOrTime(s) }

func code(err error) string {
	if de, ok := ledger.AsError(err); ok {
		return de.Code
	}
	return "error"
}

// personReason explains a person validation error in terms of the columns.
func (im *run) personReason(err error, emails []string, phones []ledger.Phone, in ledger.PersonInput) string {
	de, ok := ledger.AsError(err)
	if !ok {
		return err.Error()
	}
	if len(de.Fields) == 0 {
		return de.Message
	}
	hdr := func(f string) string {
		if i := im.col[f]; i >= 0 {
			return im.header[i]
		}
		return f
	}
	var parts []string
	for _, f := range de.Fields {
		label := f.Field
		var i int
		switch {
		case sscan(f.Field, "emails[%d]", &i) && i < len(emails):
			label = fmt.Sprintf("%s %q", hdr("email"), emails[i])
		case sscan(f.Field, "phones[%d].number", &i) && i < len(phones):
			label = fmt.Sprintf("%s %q", hdr("phone"), phones[i].Number)
		case f.Field == "language":
			label = fmt.Sprintf("%s %q", hdr("language"), in.Language)
		case f.Field == "source":
			label = fmt.Sprintf("%s %q", hdr("source"), in.Source)
		case f.Field == "last_name" && strings.Contains(f.Message, "needs a name"):
			parts = append(parts, f.Message)
			continue
		case strings.HasPrefix(f.Field, "address."):
			label = hdr(strings.TrimPrefix(f.Field, "address."))
		case im.col[f.Field] >= 0:
			label = hdr(f.Field)
		}
		parts = append(parts, label+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}

func sscan(s, format string, i *int) bool {
	n, err := fmt.Sscanf(s, format, i)
	return err == nil && n == 1
}

func consentReason(err error) string {
	de, ok := ledger.AsError(err)
	if !ok {
		return err.Error()
	}
	if de.Code != "validation" || len(de.Fields) == 0 {
		return de.Message
	}
	var parts []string
	for _, f := range de.Fields {
		parts = append(parts, f.Field+" "+f.Message)
	}
	return strings.Join(parts, "; ")
}

// writeReject records a rejected row.
func (im *run) writeReject(r *row) error {
	im.rep.Rejected++
	im.rep.RejectReasons[r.code]++
	if im.opts.Rejects == nil {
		return nil
	}
	if im.rejects == nil {
		im.rejects = csv.NewWriter(im.opts.Rejects)
		im.rejects.Comma = im.delim
		if err := im.rejects.Write(append([]string{"line", "reason"}, im.header...)); err != nil {
			return err
		}
	}
	return im.rejects.Write(append([]string{strconv.FormatInt(r.line, 10), r.reason}, r.fields...))
}

type encoded struct {
	bb  *ledger.BulkBatch
	err error
}

// run drives the pipeline inside the transaction.
func (im *run) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows := make(chan rowBatch, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		im.parse(ctx, rows)
	}()
	toEncode := make(chan *ledger.BulkBatch, 2)
	encodedCh := make(chan encoded, 4)
	go func() {
		defer wg.Done()
		defer close(encodedCh)
		for bb := range toEncode {
			encodedCh <- encoded{bb, im.bulk.Encode(bb)}
		}
	}()
	inflight := 0
	stop := func() {
		cancel()
		close(toEncode)
		for range encodedCh {
		}
		for range rows {
		}
		wg.Wait()
	}
	collect := func() error {
		e := <-encodedCh
		inflight--
		if e.err != nil {
			return e.err
		}
		if err := im.bulk.Insert(e.bb); err != nil {
			return err
		}
		if im.opts.Progress != nil {
			im.opts.Progress(im.rowsDone, im.counter.n.Load())
		}
		return nil
	}
	// cut sends the current batch to the encoder and inserts the one before
	// it, so that encoding and inserting overlap.
	cut := func() error {
		if bb := im.bulk.Cut(); bb != nil {
			toEncode <- bb
			inflight++
		}
		for inflight > 1 {
			if err := collect(); err != nil {
				return err
			}
		}
		return nil
	}
	drain := func() error {
		if err := cut(); err != nil {
			return err
		}
		for inflight > 0 {
			if err := collect(); err != nil {
				return err
			}
		}
		return nil
	}
	im.seen = map[[2]uint64]int64{}
	err := func() error {
		for rb := range rows {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := im.handle(rb.rows, cut, drain); err != nil {
				return err
			}
			if rb.err != nil {
				return rb.err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := drain(); err != nil {
			return err
		}
		return im.bulk.Finish()
	}()
	stop()
	if err == nil && im.opts.Progress != nil {
		im.opts.Progress(im.rowsDone, im.counter.n.Load())
	}
	return err
}

func (im *run) key(email string) [2]uint64 {
	return [2]uint64{maphash.String(im.seed1, email), maphash.String(im.seed2, email)}
}

// handle checks a batch of rows for duplicates and queues them (stage 2).
func (im *run) handle(rows []*row, cut, drain func() error) error {
	// Addresses are matched by mailbox key: another spelling of a stored
	// or earlier address (Anna+news@, a Unicode or punycode domain) is
	// the same mailbox.
	var owners map[string]int64
	if im.bulk.HadEmails() {
		var keys []string
		for _, r := range rows {
			if r.code == "" {
				for _, e := range r.person.Emails {
					keys = append(keys, ledger.MailboxKey(e))
				}
			}
		}
		var err error
		if owners, err = im.bulk.EmailOwners(keys); err != nil {
			return err
		}
	}
	for _, r := range rows {
		im.rep.RowsRead++
		im.rowsDone++
		if r.code != "" {
			if err := im.writeReject(r); err != nil {
				return err
			}
			continue
		}
		var owner int64
		var ownerEmail, where string
		conflict := ""
		for _, e := range r.person.Emails {
			k := ledger.MailboxKey(e)
			id, ok := im.seen[im.key(k)]
			w := "imported from an earlier line of this file"
			if !ok {
				id, ok = owners[k]
				w = "stored before"
			}
			if !ok {
				continue
			}
			if owner != 0 && id != owner {
				conflict = fmt.Sprintf("the e-mail addresses %q and %q belong to two different persons (%d and %d)", ownerEmail, e, owner, id)
				break
			}
			owner, ownerEmail, where = id, e, w
		}
		blocked, err := im.bulk.Blocked(r.person.Emails)
		if err != nil {
			return err
		}
		switch {
		case blocked:
			im.reject(r, ledger.ErrBlockedCode, "the e-mail address belonged to a person who was erased (GDPR Art. 17) and is on the blocklist: not imported again")
		case conflict != "":
			im.reject(r, "duplicate-email", conflict)
		case owner != 0 && im.opts.OnDuplicate == OnDuplicateSkip:
			im.reject(r, "duplicate-email", fmt.Sprintf("duplicate: the e-mail address %q belongs to person %d (%s)", ownerEmail, owner, where))
		case owner != 0:
			if len(r.consents) == 0 {
				im.rep.Unchanged++
				continue
			}
			if err := drain(); err != nil {
				return err
			}
			evs, err := im.bulk.RecordConsents(owner, r.consents)
			if err != nil {
				if _, ok := ledger.AsError(err); !ok {
					return err
				}
				im.reject(r, code(err), fmt.Sprintf("person %d: %s", owner, consentReason(err)))
				break
			}
			im.rep.Updated++
			im.rep.ConsentEvents += int64(len(evs))
		default:
			var orgID *int64
			if r.org != "" {
				id, created, err := im.bulk.Organisation(r.org)
				if err != nil {
					if _, ok := ledger.AsError(err); !ok {
						return err
					}
					col := im.header[im.col["organisation"]]
					im.reject(r, code(err), col+": "+consentReason(err))
					break
				}
				if created {
					im.rep.Organisations++
				}
				orgID = &id
			}
			id, err := im.bulk.Add(r.person, orgID, r.consents)
			if err != nil {
				return err
			}
			for _, e := range r.person.Emails {
				im.seen[im.key(ledger.MailboxKey(e))] = id
			}
			im.rep.Created++
			im.rep.ConsentEvents += int64(len(r.consents))
			if im.bulk.Pending() >= im.opts.BatchSize {
				if err := cut(); err != nil {
					return err
				}
			}
		}
		if r.code != "" {
			if err := im.writeReject(r); err != nil {
				return err
			}
		}
	}
	return nil
}
