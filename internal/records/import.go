package records

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// ImportReport sums up a CSV import of linked records.
type ImportReport struct {
	Kind     string      `json:"kind"`
	Rows     int         `json:"rows"`
	Imported int         `json:"imported"`
	Rejected []RowReject `json:"rejected"`
}

// RowReject names a rejected line and why.
type RowReject struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// Import kinds.
const (
	ImportActivities      = "activities"
	ImportBusinessRecords = "business_records"
)

// MaxImportRows bounds one CSV import of linked records.
const MaxImportRows = 200_000

// Import reads activities or business records from CSV (header row first;
// the person by a person_id or email column) and stores the valid rows in
// one transaction. Activities: kind, occurred_at (RFC 3339 or YYYY-MM-DD),
// subject, body, author. Business records: kind, number, issued_on,
// amount (decimal, e.g. 12.50), currency, description. Rows that are
// wrong are reported with their line number and stored nowhere; with
// dryRun nothing is stored at all.
func (s *Service) Import(ctx context.Context, actor audit.Actor, kind string, r io.Reader, dryRun bool) (*ImportReport, error) {
	if kind != ImportActivities && kind != ImportBusinessRecords {
		return nil, invalid("kind", "must be activities or business_records")
	}
	cr := input.NewCSVReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fileInvalid("the CSV file is empty: it needs a header row")
	}
	if err != nil {
		return nil, csvInvalid(err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	_, hasID := col["person_id"]
	_, hasEmail := col["email"]
	if !hasID && !hasEmail {
		return nil, fileInvalid("the header of the CSV file needs a person_id or an email column")
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	rep := &ImportReport{Kind: kind, Rejected: []RowReject{}}
	type row struct {
		line int
		rec  []string
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvInvalid(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rows) >= MaxImportRows {
			return nil, fileInvalid(fmt.Sprintf("the CSV file has more than %d rows: split it", MaxImportRows))
		}
		rows = append(rows, row{line, rec})
	}
	rep.Rows = len(rows)
	errDry := errors.New("dry run")
	err = s.db.WriteAlone(ctx, func(tx *store.Tx) error {
		rep.Imported, rep.Rejected = 0, rep.Rejected[:0]
		for _, rw := range rows {
			if err := tx.Ctx().Err(); err != nil {
				return err
			}
			if reason := badText(header, rw.rec); reason != "" {
				rep.Rejected = append(rep.Rejected, RowReject{Line: rw.line, Reason: reason})
				continue
			}
			pid, reason := resolvePerson(tx, get(rw.rec, "person_id"), get(rw.rec, "email"))
			if reason == "" {
				var err error
				if reason, err = s.importRow(tx, actor, kind, pid, rw.rec, get); err != nil {
					return err
				}
			}
			if reason != "" {
				rep.Rejected = append(rep.Rejected, RowReject{Line: rw.line, Reason: reason})
				continue
			}
			rep.Imported++
		}
		if dryRun {
			return errDry
		}
		return nil
	})
	if errors.Is(err, errDry) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// csvInvalid is the validation error of a CSV read error: the line and
// what is wrong there (file: line 3: a quoted field is not closed …).
func csvInvalid(err error) error {
	var le *input.LineError
	if errors.As(input.CSVError(err), &le) {
		return fileInvalid("the CSV file, " + le.Error())
	}
	return fmt.Errorf("records: read the CSV file: %w", err)
}

// fileInvalid is a validation error of the file as a whole.
func fileInvalid(msg string) error {
	return &ledger.Error{Kind: ledger.KindInvalid, Code: "validation", Message: msg,
		Fields: []ledger.FieldError{{Field: "file", Message: msg}}}
}

// badText says which field of a row cannot be stored as text, if any.
func badText(header, rec []string) string {
	for i, v := range rec {
		if err := input.Text(v); err != nil {
			name := fmt.Sprintf("column %d", i+1)
			if i < len(header) && input.Text(header[i]) == nil {
				name = strings.TrimSpace(header[i])
			}
			return name + ": " + err.Error()
		}
	}
	return ""
}

// importRow stores one row; a non-empty answer is why it was rejected.
func (s *Service) importRow(tx *store.Tx, actor audit.Actor, kind string, pid int64, rec []string, get func([]string, string) string) (string, error) {
	var err error
	if kind == ImportActivities {
		in := ActivityInput{PersonID: pid, Kind: get(rec, "kind"), Subject: get(rec, "subject"), Body: get(rec, "body"), Author: get(rec, "author")}
		if v := get(rec, "occurred_at"); v != "" {
			t, perr := input.DateOrTime(v)
			if perr != nil {
				return "occurred_at: " + perr.Error(), nil
			}
			in.OccurredAt = &t
		}
		_, err = s.AddActivityTx(tx, actor, in)
	} else {
		in := BusinessRecordInput{PersonID: pid, Kind: get(rec, "kind"), Number: get(rec, "number"), IssuedOn: get(rec, "issued_on"),
			Currency: get(rec, "currency"), Description: get(rec, "description")}
		cents, ok := parseAmount(get(rec, "amount"))
		if !ok {
			return "amount: not a decimal amount such as 12.50", nil
		}
		in.AmountCents = cents
		if err = in.validate(); err == nil {
			_, err = s.addBusinessRecordTx(tx, actor, in)
		}
	}
	if de, ok := ledger.AsError(err); ok {
		return rejectReason(de), nil
	}
	return "", err
}

// rejectReason names the columns a refused row got wrong.
func rejectReason(de *ledger.Error) string {
	if len(de.Fields) == 0 {
		return de.Message
	}
	parts := make([]string, len(de.Fields))
	for i, f := range de.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

func resolvePerson(tx *store.Tx, id, email string) (int64, string) {
	if id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			return 0, "person_id: not a number"
		}
		return n, ""
	}
	e, ok := ledger.NormalizeEmail(email)
	if !ok {
		return 0, "email: not a valid e-mail address"
	}
	pid, _, err := ledger.EmailOwnerTx(tx, e) // any spelling of the mailbox
	if err != nil || pid == 0 {
		return 0, "email: no person has this e-mail address"
	}
	return pid, ""
}

// parseAmount reads "12", "12.5", "12.50", "-3.20" (or with a comma) as cents.
func parseAmount(s string) (int64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", ".")
	if s == "" {
		return 0, false
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || w > 1e13 {
		return 0, false
	}
	v := w*100 + f
	if neg {
		v = -v
	}
	return v, true
}
