package rights

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
)

// TableEffect is what an erasure does to the rows of one table.
type TableEffect struct {
	Table    string `json:"table"`
	Deleted  int    `json:"deleted,omitempty"`
	Updated  int    `json:"updated,omitempty"`
	Inserted int    `json:"inserted,omitempty"`
}

// unsentStatuses are the outbox states of mail not (yet) sent.
const unsentStatuses = `('queued', 'sending', 'dead')`

// facts is what an erasure plan is made of: read for one person by plan,
// for a whole batch at once by eraseBatchTx; buildChanges turns them into
// the plan's changes the same way for both.
type facts struct {
	pid                                                int64
	first, last, street, postal, city, country, custom string
	org                                                bool
	purposes                                           []struct{ key, kind, basis string }
	blocked                                            bool
	emails, extra, phones                              []string
	// n counts the things of a change key (activities, documents, …).
	n map[string]int
	// detail lists them, where staff may see them.
	detail map[string]string
	// vals are every value the person ever had (see values.go).
	vals *values
	// texts are the kept texts rewritten without them, by business record.
	texts map[int64]string
}

func newFacts(pid int64) *facts {
	return &facts{pid: pid, n: map[string]int{}, detail: map[string]string{}, vals: newValues()}
}

// current adds the person's current values to vals.
func (f *facts) current() {
	f.vals.snapshot(&snapshot{FirstName: f.first, LastName: f.last, Emails: f.emails})
	for _, p := range f.phones {
		f.vals.phone(p)
	}
	f.vals.address(f.street)
	f.vals.address(f.postal)
	f.vals.address(f.city)
}

// history adds the values one of the person's audit events recorded: the
// person before and after (object type person) or the correction asked
// for (selfservice_request).
func (f *facts) history(seq int64, raw, key []byte, objectType string) error {
	p, err := audit.OpenPayload(seq, raw, key, true)
	if err != nil || p == nil {
		return err
	}
	if objectType == "selfservice_request" {
		f.vals.request(p.After)
		return nil
	}
	f.vals.person(p.Before)
	f.vals.person(p.After)
	return nil
}

// historyQuery reads the person-bound audit events that record a person's
// values: the person's own events (create, update, …) and their
// self-service requests. %s is the person id (or ids). The object type is
// compared as an expression, so that no planner reads it from the index
// on (object_type, object_id): with hundreds of ids SQLite would rather
// walk every person event of the whole log than the person index.
const historyQuery = `SELECT e.person_id, e.seq, e.payload, k.key, e.object_type FROM audit_events e JOIN person_keys k ON k.person_id = e.person_id
	WHERE e.person_id IN (%s) AND e.object_type || '' IN ('person', 'selfservice_request') AND k.key IS NOT NULL`

// valuesQuery reads the other values tied to a person: requester
// addresses of their cases and the corrections they asked for.
const valuesQuery = `SELECT person_id, 'r', requester_email FROM rights_requests WHERE person_id IN (%s) AND requester_email <> ''
	UNION ALL SELECT person_id, 's', payload FROM selfservice_requests WHERE person_id IN (%s) AND payload <> '{}'`

func (f *facts) other(kind, v string) {
	if kind == "r" {
		f.vals.email(v)
	} else {
		f.vals.correction([]byte(v))
	}
}

// add is one change of a plan at level l or below.
func (p *ErasurePlan) add(l int, action, key, what string, n int, detail string) {
	if l > p.Level {
		return
	}
	c := Change{Level: l, Action: action, Key: key, What: what, Count: n, Detail: detail}
	if key == "purpose" {
		c.Subject = strings.TrimPrefix(what, "purpose ")
	}
	p.Changes = append(p.Changes, c)
}

// counted are the changes that are listed when they have something to
// change, in the order the plan lists them.
var counted = []struct {
	level         int
	action, key   string
	what          string
	withoutDetail bool
}{
	{LevelBlock, "delete", "mail_unsent", "unsent mail to the person in the outbox (queued, sending or given up), with attachments", false},
	{LevelContact, "delete", "activities", "activities (calls, meetings, e-mails, notes)", true},
	{LevelAnonymize, "delete", "sensitive", "sensitive values (encrypted custom fields)", false},
	{LevelAnonymize, "delete", "evidence", "evidence of consent events (notes, forms, IP addresses, user agents)", true},
	{LevelAnonymize, "delete", "evidence_files", "evidence files", true},
	{LevelAnonymize, "delete", "documents", "documents with their files", false},
	{LevelAnonymize, "delete", "relationships", "relationships to other persons", true},
	{LevelAnonymize, "delete", "requests", "requester details and internal notes of request cases", true},
	{LevelAnonymize, "delete", "recipient_notices", "notices to recipients naming the person (Art. 19), in the outbox", true},
	{LevelAnonymize, "delete", "outbox", "the person's other mails in the outbox (sent or captured), with attachments", false},
	{LevelAnonymize, "delete", "preference_links", "personal preference links", true},
	{LevelAnonymize, "delete", "optins", "double opt-in records (form snapshot, IP addresses, user agents)", true},
	{LevelAnonymize, "clear", "selfservice", "self-service requests: the corrections asked for, IP addresses, user agents", true},
	{LevelAnonymize, "unlink", "breaches", "links to personal data breaches (the breaches are kept)", false},
	{LevelAnonymize, "unlink", "business_records", "business records (orders, invoices): kept for their retention period, linked to no one", true},
	{LevelAnonymize, "replace", "business_texts", "personal values in the texts of kept business records, current and earlier ones, by " + Erased, false},
}

// buildChanges lists the changes of an erasure at p.Level from f.
func (p *ErasurePlan) buildChanges(f *facts) {
	for _, x := range f.purposes {
		p.add(LevelBlock, "withdraw", "purpose", "purpose "+x.key, 0, x.kind+" ("+x.basis+") → withdrawn")
	}
	if !f.blocked {
		p.add(LevelBlock, "block", "mail", "mail of any kind", 0, "")
	}
	c := func(key string) {
		for _, x := range counted {
			if x.key == key && f.n[key] > 0 {
				d := f.detail[key]
				if x.withoutDetail {
					d = ""
				}
				p.add(x.level, x.action, x.key, x.what, f.n[key], d)
			}
		}
	}
	c("mail_unsent")
	if len(f.phones) > 0 {
		p.add(LevelContact, "delete", "phones", "phone numbers", len(f.phones), strings.Join(f.phones, ", "))
	}
	if addr := strings.TrimSpace(strings.Join(nonEmpty(f.street, f.postal, f.city, f.country), ", ")); addr != "" {
		p.add(LevelContact, "clear", "address", "postal address", 0, addr)
	}
	if len(f.extra) > 0 {
		p.add(LevelContact, "delete", "emails_extra", "further e-mail addresses", len(f.extra), strings.Join(f.extra, ", "))
	}
	c("activities")
	if name := strings.TrimSpace(f.first + " " + f.last); name != "" {
		p.add(LevelAnonymize, "clear", "name", "name", 0, name)
	}
	if len(f.emails) > 0 {
		p.add(LevelAnonymize, "blocklist", "emails", "e-mail addresses: deleted, kept only as keyed hashes on the blocklist", len(f.emails), strings.Join(f.emails, ", "))
	}
	if f.custom != "" && f.custom != "{}" {
		p.add(LevelAnonymize, "clear", "custom", "custom fields", 0, f.custom)
	}
	c("sensitive")
	if f.org {
		p.add(LevelAnonymize, "unlink", "organisation", "organisation", 0, "")
	}
	for _, k := range []string{"evidence", "evidence_files", "documents", "relationships", "requests", "recipient_notices", "outbox",
		"preference_links", "optins", "selfservice", "breaches", "business_records", "business_texts"} {
		c(k)
	}
	p.add(LevelAnonymize, "destroy", "audit_key", "the person's audit key: their audit events become unreadable, the chain still verifies", 0, "")
}

// listed joins items for a change's detail, the first 20 of them.
func listed(items []string) string {
	if len(items) > 20 {
		return strings.Join(items[:20], "; ") + fmt.Sprintf("; … (%d more)", len(items)-20)
	}
	return strings.Join(items, "; ")
}

// readFacts reads what plan needs of person pid.
func readFacts(q querier, pid int64) (*facts, error) {
	f := newFacts(pid)
	var status string
	var org sql.NullInt64
	err := q.QueryRow(`SELECT first_name, last_name, street, postal_code, city, country, custom, status, organisation_id FROM persons WHERE id = ?`, pid).
		Scan(&f.first, &f.last, &f.street, &f.postal, &f.city, &f.country, &f.custom, &status, &org)
	if isNoRows(err) {
		return nil, notFound("unknown-person", "there is no such person")
	}
	if err != nil {
		return nil, err
	}
	switch status {
	case ledger.StatusAnonymized:
		return nil, &ledger.Error{Kind: ledger.KindGone, Code: "person-anonymized", Message: "this person was anonymized already"}
	case ledger.StatusRestricted:
		return nil, &ledger.Error{Kind: ledger.KindLocked, Code: "person-restricted", Message: "processing of this person is restricted (GDPR Art. 18): lift the restriction, recorded, before erasing"}
	}
	f.org = org.Valid
	each := func(query string, scan func(*sql.Rows) error, args ...any) error {
		rows, err := q.Query(query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	if err := each(`SELECT pu.key, c.kind, c.legal_basis FROM consents c JOIN purposes pu ON pu.id = c.purpose_id
		WHERE c.person_id = ? AND c.kind IN ('granted', 'pending') ORDER BY pu.key`, func(r *sql.Rows) error {
		var x struct{ key, kind, basis string }
		err := r.Scan(&x.key, &x.kind, &x.basis)
		f.purposes = append(f.purposes, x)
		return err
	}, pid); err != nil {
		return nil, err
	}
	var blocked int
	if blocked, err = count(q, `SELECT COUNT(*) FROM mail_blocks WHERE person_id = ?`, pid); err != nil {
		return nil, err
	}
	f.blocked = blocked > 0
	if err := each(`SELECT email, is_primary FROM person_emails WHERE person_id = ? ORDER BY is_primary DESC, email`, func(r *sql.Rows) error {
		var e string
		var primary int
		err := r.Scan(&e, &primary)
		f.emails = append(f.emails, e)
		if primary == 0 {
			f.extra = append(f.extra, e)
		}
		return err
	}, pid); err != nil {
		return nil, err
	}
	if err := each(`SELECT number FROM person_phones WHERE person_id = ? ORDER BY position`, func(r *sql.Rows) error {
		var n string
		err := r.Scan(&n)
		f.phones = append(f.phones, n)
		return err
	}, pid); err != nil {
		return nil, err
	}
	for key, c := range countQueries {
		n, err := count(q, `SELECT COUNT(*) FROM `+strings.ReplaceAll(c[1], "%s", "?"), repeat(pid, strings.Count(c[1], "%s"))...)
		if err != nil {
			return nil, fmt.Errorf("rights: plan %s: %w", key, err)
		}
		f.n[key] = n
	}
	for key, c := range detailQueries {
		var items []string
		if err := each(strings.ReplaceAll(c, "%s", "?"), func(r *sql.Rows) error {
			var pid int64
			var s string
			err := r.Scan(&pid, &s)
			items = append(items, s)
			return err
		}, pid); err != nil {
			return nil, fmt.Errorf("rights: plan %s: %w", key, err)
		}
		f.detail[key] = listed(items)
	}
	// Kept texts that name them, with every value the person ever had
	// (read while their audit key still exists; only when there is a
	// kept text to look at).
	type text struct {
		id        int64
		number, d string
	}
	var kept []text
	if err := each(`SELECT id, number, description FROM business_records WHERE person_id = ? AND description <> '' ORDER BY id`, func(r *sql.Rows) error {
		var t text
		err := r.Scan(&t.id, &t.number, &t.d)
		kept = append(kept, t)
		return err
	}, pid); err != nil {
		return nil, err
	}
	if len(kept) == 0 {
		return f, nil
	}
	f.current()
	if err := each(fmt.Sprintf(historyQuery, "?"), func(r *sql.Rows) error {
		var id, seq int64
		var raw, key []byte
		var typ string
		if err := r.Scan(&id, &seq, &raw, &key, &typ); err != nil {
			return err
		}
		return f.history(seq, raw, key, typ)
	}, pid); err != nil {
		return nil, fmt.Errorf("rights: plan: %w", err)
	}
	if err := each(strings.ReplaceAll(valuesQuery, "%s", "?"), func(r *sql.Rows) error {
		var id int64
		var kind, v string
		err := r.Scan(&id, &kind, &v)
		f.other(kind, v)
		return err
	}, pid, pid); err != nil {
		return nil, err
	}
	sc := f.vals.scrubber()
	var texts []string
	f.texts = map[int64]string{}
	for _, t := range kept {
		if nd := sc.scrub(t.d); nd != t.d {
			f.texts[t.id] = nd
			texts = append(texts, t.number)
		}
	}
	f.n["business_texts"], f.detail["business_texts"] = len(texts), listed(texts)
	return f, nil
}

func repeat(v any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// countQueries count a change key's things of a person or, grouped by
// their first column, of each person of a batch: %s stands for the
// person id(s).
var countQueries = map[string][2]string{
	"mail_unsent":       {"person_id", `mail_outbox WHERE person_id IN (%s) AND status IN ` + unsentStatuses},
	"activities":        {"person_id", `activities WHERE person_id IN (%s)`},
	"sensitive":         {"person_id", `person_secrets WHERE person_id IN (%s)`},
	"evidence":          {"person_id", `consent_events WHERE person_id IN (%s) AND evidence <> '{}'`},
	"evidence_files":    {"e.person_id", `consent_event_files f JOIN consent_events e ON e.id = f.event_id WHERE e.person_id IN (%s)`},
	"documents":         {"person_id", `documents WHERE person_id IN (%s)`},
	"requests":          {"person_id", `rights_requests WHERE person_id IN (%s)`},
	"recipient_notices": {"q.person_id", `mail_outbox o JOIN recipient_notices n ON n.outbox_id = o.id JOIN rights_requests q ON q.id = n.request_id WHERE q.person_id IN (%s)`},
	"outbox":            {"person_id", `mail_outbox WHERE person_id IN (%s) AND status NOT IN ` + unsentStatuses},
	"preference_links":  {"person_id", `preference_tokens WHERE person_id IN (%s)`},
	"optins":            {"person_id", `optins WHERE person_id IN (%s)`},
	"selfservice":       {"person_id", `selfservice_requests WHERE person_id IN (%s) AND (payload <> '{}' OR ip <> '' OR user_agent <> '')`},
	"breaches":          {"person_id", `breach_persons WHERE person_id IN (%s)`},
	"business_records":  {"person_id", `business_records WHERE person_id IN (%s)`},
	// Per person only: the batch gives a shared row to whoever comes first.
	"relationships": {"", `relationships WHERE person_id IN (%s) OR other_id IN (%s)`},
}

// detailQueries list a change key's things where staff may see them
// (person id, item), in order. Sensitive values are named by their field
// only: their values are masked to staff.
var detailQueries = map[string]string{
	"mail_unsent": `SELECT person_id, template || ' (' || status || ')' FROM mail_outbox WHERE person_id IN (%s) AND status IN ` + unsentStatuses + ` ORDER BY id`,
	"outbox":      `SELECT person_id, template || ' (' || status || ')' FROM mail_outbox WHERE person_id IN (%s) AND status NOT IN ` + unsentStatuses + ` ORDER BY id`,
	"sensitive":   `SELECT s.person_id, f.label FROM person_secrets s JOIN custom_fields f ON f.id = s.field_id WHERE s.person_id IN (%s) ORDER BY f.label`,
	"documents":   `SELECT person_id, filename FROM documents WHERE person_id IN (%s) ORDER BY id`,
	"breaches":    `SELECT bp.person_id, b.title FROM breach_persons bp JOIN breaches b ON b.id = bp.breach_id WHERE bp.person_id IN (%s) ORDER BY b.id`,
}

// effects is what the erasure of plan p does to each table; it needs a
// few counts more than the changes (attachments, notes, shared files).
func effects(q querier, p *ErasurePlan, f *facts) ([]TableEffect, error) {
	pid := p.PersonID
	m := map[string]*TableEffect{}
	t := func(table string) *TableEffect {
		if m[table] == nil {
			m[table] = &TableEffect{Table: table}
		}
		return m[table]
	}
	n := func(query string, args ...any) (int, error) { return count(q, query, args...) }
	withdrawn := len(f.purposes)
	t("consents").Updated += withdrawn
	t("consent_events").Inserted += withdrawn
	t("audit_events").Inserted += withdrawn + 1
	t("audit_head").Updated = 1
	t("persons").Updated = 1
	if !f.blocked {
		t("mail_blocks").Inserted = 1
	}
	mails := `SELECT id FROM mail_outbox WHERE person_id = ? AND status IN ` + unsentStatuses
	if p.Level >= LevelAnonymize {
		mails = `SELECT id FROM mail_outbox WHERE person_id = ? UNION SELECT n.outbox_id FROM recipient_notices n JOIN rights_requests q ON q.id = n.request_id WHERE q.person_id = ?`
	}
	args := repeat(pid, strings.Count(mails, "?"))
	var err error
	if t("mail_outbox").Deleted, err = n(`SELECT COUNT(*) FROM mail_outbox WHERE id IN (`+mails+`)`, args...); err != nil {
		return nil, err
	}
	if t("mail_attachments").Deleted, err = n(`SELECT COUNT(*) FROM mail_attachments WHERE mail_id IN (`+mails+`)`, args...); err != nil {
		return nil, err
	}
	if p.Level >= LevelContact {
		t("person_phones").Deleted = len(f.phones)
		t("person_emails").Deleted = len(f.extra)
		t("activities").Deleted = f.n["activities"]
	}
	if p.Level >= LevelAnonymize {
		blocked := map[string]bool{}
		for _, e := range f.emails {
			if ne, ok := ledger.NormalizeEmail(e); ok {
				blocked[ne] = true
			}
		}
		t("person_emails").Deleted = len(f.emails)
		t("email_blocklist").Inserted = len(blocked)
		t("person_secrets").Deleted = f.n["sensitive"]
		t("consent_events").Updated = f.n["evidence"]
		t("consent_event_files").Deleted = f.n["evidence_files"]
		t("documents").Deleted = f.n["documents"]
		t("relationships").Deleted = f.n["relationships"]
		t("business_records").Updated = f.n["business_records"]
		t("breach_persons").Deleted = f.n["breaches"]
		t("preference_tokens").Deleted = f.n["preference_links"]
		t("optins").Deleted = f.n["optins"]
		t("selfservice_requests").Updated = f.n["selfservice"]
		t("person_keys").Updated = 1
		for table, c := range map[string]string{
			// Files no event of anyone else uses.
			"evidence_files": `SELECT COUNT(DISTINCT f.sha256) FROM consent_event_files f JOIN consent_events e ON e.id = f.event_id WHERE e.person_id = ?
				AND NOT EXISTS (SELECT 1 FROM consent_event_files g JOIN consent_events o ON o.id = g.event_id WHERE g.sha256 = f.sha256 AND o.person_id <> ?)`,
			"rights_request_notes": `SELECT COUNT(*) FROM rights_request_notes WHERE request_id IN (SELECT id FROM rights_requests WHERE person_id = ?)`,
			"rights_requests": `SELECT COUNT(*) FROM rights_requests WHERE person_id = ?
				AND (requester_email <> '' OR details <> '' OR verification_method <> '' OR extension_reason <> '' OR outcome <> '')`,
			"recipient_notices": `SELECT COUNT(*) FROM recipient_notices WHERE outbox_id IS NOT NULL AND request_id IN (SELECT id FROM rights_requests WHERE person_id = ?)`,
		} {
			v, err := n(c, repeat(pid, strings.Count(c, "?"))...)
			if err != nil {
				return nil, fmt.Errorf("rights: plan %s: %w", table, err)
			}
			if table == "evidence_files" || table == "rights_request_notes" {
				t(table).Deleted = v
			} else {
				t(table).Updated = v
			}
		}
	}
	out := make([]TableEffect, 0, len(m))
	for _, e := range m {
		if e.Deleted+e.Updated+e.Inserted > 0 {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out, nil
}
