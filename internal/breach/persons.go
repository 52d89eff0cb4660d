package breach

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/emailaddr"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// How a linked person can be reached with an Art. 34 notice.
const (
	ReachMailable    = "mailable"
	ReachMailBlocked = "mail_blocked" // erasure blocked all mail (Art. 17)
	ReachRestricted  = "restricted"   // processing restricted (Art. 18)
	ReachNoAddress   = "no_address"   // no e-mail address, or anonymized
)

// AffectedPerson is a person linked to an incident.
type AffectedPerson struct {
	PersonID   int64      `json:"person_id"`
	AddedAt    time.Time  `json:"added_at"`
	AddedBy    string     `json:"added_by"`
	NotifiedAt *time.Time `json:"notified_at"`
	MailID     *int64     `json:"mail_id"` // the notice in the outbox; gone once the outbox drops it
	Reach      string     `json:"reach"`
	// For the staff UI only: who it is.
	Name  string `json:"-"`
	Email string `json:"-"`
}

// MaxLink bounds the ids and addresses of one call.
const MaxLink = 100_000

// LinkInput names the persons to link: by id, by e-mail address, or both.
type LinkInput struct {
	PersonIDs []int64  `json:"person_ids"`
	Emails    []string `json:"emails"`
}

// LinkResult says what linking did. Only persons Consento knows are
// linked; the rest are counted, never stored.
type LinkResult struct {
	Given         int `json:"given"`          // ids and valid addresses given
	Invalid       int `json:"invalid"`        // strings that are no e-mail address
	Matched       int `json:"matched"`        // distinct persons found
	Unmatched     int `json:"unmatched"`      // ids and addresses that match no (non-anonymized) person
	Added         int `json:"added"`          // newly linked
	AlreadyLinked int `json:"already_linked"` // matched, but linked before
	Linked        int `json:"linked"`         // persons linked to the incident now
}

// SplitAddresses splits pasted or uploaded text into addresses: one per
// line, or separated by commas, semicolons or spaces. A line with a
// display name (Anna Berg <anna@example.com>, "Berg, Anna" <…>) is split
// only at the commas and semicolons between addresses.
func SplitAddresses(text string) []string {
	var out []string
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.ContainsAny(line, "<\"(") {
			out = append(out, emailaddr.SplitList(line)...)
			continue
		}
		out = append(out, strings.FieldsFunc(line, func(r rune) bool {
			return r == ',' || r == ';' || r == '\t' || r == ' '
		})...)
	}
	return out
}

func chunks[T any](v []T, n int) [][]T {
	var out [][]T
	for len(v) > n {
		out = append(out, v[:n])
		v = v[n:]
	}
	if len(v) > 0 {
		out = append(out, v)
	}
	return out
}

// anys turns values into query arguments.
func anys[T any](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}

// LinkPersons links persons to an incident by id and by e-mail address.
// The audit event names the persons by id only.
func (s *Service) LinkPersons(ctx context.Context, actor audit.Actor, id int64, in LinkInput) (*LinkResult, error) {
	if len(in.PersonIDs)+len(in.Emails) > MaxLink {
		return nil, invalid("person_ids", fmt.Sprintf("at most %d ids and addresses at once", MaxLink))
	}
	if len(in.PersonIDs)+len(in.Emails) == 0 {
		return nil, invalid("person_ids", "give person ids or e-mail addresses")
	}
	for i, e := range in.Emails { // a malformed address is counted; a corrupted text is refused
		if bad := textcheck.Line(strings.TrimSpace(e), textcheck.MaxEmail); bad != textcheck.OK {
			return nil, invalid(fmt.Sprintf("emails[%d]", i), bad.Message(textcheck.MaxEmail))
		}
	}
	res := &LinkResult{}
	// Addresses match by mailbox key: every spelling of a mailbox in the
	// breached list (Anna+x@, a punycode domain) finds the persons who
	// have that mailbox in any spelling.
	var emails []string
	for _, e := range in.Emails {
		n, ok := ledger.NormalizeEmail(e)
		if !ok {
			res.Invalid++
			continue
		}
		if k := ledger.MailboxKey(n); !slices.Contains(emails, k) {
			emails = append(emails, k)
		}
	}
	ids := slices.Clone(in.PersonIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	res.Given = len(ids) + len(emails)
	now := s.now()
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if _, err := s.getTx(tx, id); err != nil {
			return err
		}
		found := map[int64]bool{}
		// Addresses and ids to persons not anonymized.
		match := func(query string, values []any) error {
			for _, part := range chunks(values, 500) {
				rows, err := tx.Query(fmt.Sprintf(query, store.Placeholders(len(part))), part...)
				if err != nil {
					return fmt.Errorf("breach: match persons: %w", err)
				}
				hit := map[string]bool{}
				for rows.Next() {
					var given string
					var pid int64
					if err := rows.Scan(&given, &pid); err != nil {
						rows.Close()
						return err
					}
					found[pid] = true
					hit[given] = true
				}
				n := len(hit)
				rows.Close()
				if err := rows.Err(); err != nil {
					return err
				}
				res.Unmatched += len(part) - n
			}
			return nil
		}
		if err := match(`SELECT e.mailbox, e.person_id FROM person_emails e JOIN persons p ON p.id = e.person_id
				WHERE e.mailbox IN (%s) AND p.status <> 'anonymized'`, anys(emails)); err != nil {
			return err
		}
		if err := match(`SELECT CAST(id AS TEXT), id FROM persons WHERE id IN (%s) AND status <> 'anonymized'`, anys(ids)); err != nil {
			return err
		}
		res.Matched = len(found)
		var added []int64
		for pid := range found {
			r, err := tx.Exec(`INSERT INTO breach_persons (breach_id, person_id, added_at, added_by) VALUES (?, ?, ?, ?) ON CONFLICT (breach_id, person_id) DO NOTHING`,
				id, pid, store.Micros(now), actor.String())
			if err != nil {
				return fmt.Errorf("breach: link person: %w", err)
			}
			if n, _ := r.RowsAffected(); n > 0 {
				added = append(added, pid)
			}
		}
		res.Added, res.AlreadyLinked = len(added), len(found)-len(added)
		if err := tx.QueryRow(`SELECT COUNT(*) FROM breach_persons WHERE breach_id = ?`, id).Scan(&res.Linked); err != nil {
			return err
		}
		if len(added) == 0 {
			return nil
		}
		if _, err := tx.Exec(`UPDATE breaches SET linked_persons = linked_persons + ?, updated_at = ?, updated_by = ? WHERE id = ?`,
			len(added), store.Micros(now), actor.String(), id); err != nil {
			return fmt.Errorf("breach: count persons: %w", err)
		}
		slices.Sort(added)
		after := map[string]any{"added": len(added), "given": res.Given, "unmatched": res.Unmatched}
		if len(added) <= 1000 {
			after["person_ids"] = added
		}
		return appendAudit(tx, now, actor, "breach.link_persons", id, "", nil, after)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

const affectedQuery = `SELECT bp.person_id, bp.added_at, bp.added_by, bp.notified_at, bp.mail_id, p.first_name, p.last_name, p.status,
		(SELECT e.email FROM person_emails e WHERE e.person_id = bp.person_id ORDER BY e.is_primary DESC, e.email LIMIT 1),
		CASE WHEN EXISTS (SELECT 1 FROM mail_blocks m WHERE m.person_id = bp.person_id) THEN 1 ELSE 0 END,
		p.language
	FROM breach_persons bp JOIN persons p ON p.id = bp.person_id WHERE bp.breach_id = ?`

// affected is one row of affectedQuery with the language a notice needs.
type affected struct {
	AffectedPerson
	first, lang string
}

func scanAffected(rows *sql.Rows) ([]affected, error) {
	defer rows.Close()
	var out []affected
	for rows.Next() {
		var a affected
		var added int64
		var notified *int64
		var first, last, status string
		var email *string
		var blocked int
		if err := rows.Scan(&a.PersonID, &added, &a.AddedBy, &notified, &a.MailID, &first, &last, &status, &email, &blocked, &a.lang); err != nil {
			return nil, err
		}
		a.AddedAt, a.NotifiedAt, a.first = store.FromMicros(added), timeP(notified), first
		a.Name = strings.TrimSpace(first + " " + last)
		if email != nil {
			a.Email = *email
		}
		switch {
		case status == ledger.StatusAnonymized || a.Email == "":
			a.Reach = ReachNoAddress
		case blocked != 0:
			a.Reach = ReachMailBlocked
		case status == ledger.StatusRestricted:
			a.Reach = ReachRestricted
		default:
			a.Reach = ReachMailable
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Persons lists the persons linked to an incident, by id.
func (s *Service) Persons(ctx context.Context, id int64) ([]AffectedPerson, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, affectedQuery+` ORDER BY bp.person_id`, id)
	if err != nil {
		return nil, fmt.Errorf("breach: persons: %w", err)
	}
	as, err := scanAffected(rows)
	if err != nil {
		return nil, fmt.Errorf("breach: persons: %w", err)
	}
	out := make([]AffectedPerson, 0, len(as))
	for _, a := range as {
		out = append(out, a.AffectedPerson)
	}
	return out, nil
}

// UnlinkPerson removes a person linked by mistake, with the reason. A
// person who was sent the notice stays linked: the notice is part of the
// record of the breach (Art. 33(5)).
func (s *Service) UnlinkPerson(ctx context.Context, actor audit.Actor, id, personID int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return invalid("reason", "is required: say why the person was linked by mistake")
	}
	if err := ledger.CheckTexts(ledger.MultiLine("reason", reason, textcheck.MaxReason)); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		if _, err := s.getTx(tx, id); err != nil {
			return err
		}
		var notified sql.NullInt64
		err := tx.QueryRow(`SELECT notified_at FROM breach_persons WHERE breach_id = ? AND person_id = ?`, id, personID).Scan(&notified)
		if isNoRows(err) {
			return &ledger.Error{Kind: ledger.KindNotFound, Code: "person-not-linked", Message: "this person is not linked to the breach"}
		}
		if err != nil {
			return fmt.Errorf("breach: unlink: %w", err)
		}
		if notified.Valid {
			return conflict("person-notified", "this person was sent the notice, so the link stays as part of the record")
		}
		if _, err := tx.Exec(`DELETE FROM breach_persons WHERE breach_id = ? AND person_id = ?`, id, personID); err != nil {
			return fmt.Errorf("breach: unlink: %w", err)
		}
		if _, err := tx.Exec(`UPDATE breaches SET linked_persons = linked_persons - 1, updated_at = ?, updated_by = ? WHERE id = ?`,
			store.Micros(now), actor.String(), id); err != nil {
			return fmt.Errorf("breach: unlink: %w", err)
		}
		return appendAudit(tx, now, actor, "breach.unlink_person", id, reason, nil, map[string]any{"person_id": personID})
	})
}
