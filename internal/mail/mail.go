// Package mail is Consento's outgoing e-mail: an outbox written in the same
// transaction as the change that causes a mail, templates per language
// (built in, overridable by staff) rendered when a mail is queued, and a
// worker that delivers through SMTP with retries, backoff, a rate limit and
// a dead-letter state. Without an SMTP server mail is captured in the
// outbox for staff to read.
package mail

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/consento/consento/internal/store"
)

// Outbox states.
const (
	StatusQueued   = "queued"
	StatusSending  = "sending"
	StatusSent     = "sent"
	StatusCaptured = "captured"
	StatusDead     = "dead"
)

// Unsubscribe makes a mail carry List-Unsubscribe (RFC 2369) and, with an
// https URL, List-Unsubscribe-Post: List-Unsubscribe=One-Click (RFC 8058).
type Unsubscribe struct {
	URL    string // https:// one-click URL
	Mailto string // optional mailto: address (without "mailto:")
}

// Header is the List-Unsubscribe value: <https…>, <mailto:…>.
func (u Unsubscribe) Header() string {
	var parts []string
	if u.URL != "" {
		parts = append(parts, "<"+u.URL+">")
	}
	if u.Mailto != "" {
		parts = append(parts, "<mailto:"+u.Mailto+"?subject=unsubscribe>")
	}
	return strings.Join(parts, ", ")
}

// Message is one mail to queue: a template rendered for one recipient.
type Message struct {
	Template string // e.g. "optin", see Templates
	Language string // en, de or da; others fall back to en; templates see it as .Lang
	PersonID int64  // 0 when the mail concerns no person
	To       string
	Data     map[string]any
	// Unsubscribe, when set, marks a marketing mail (RFC 8058 headers).
	Unsubscribe *Unsubscribe
	// Attachments are files sent with the mail (Enqueue only, at most
	// MaxAttachmentBytes together).
	Attachments []Attachment
}

// ErrRecipient means the recipient address is not a usable e-mail address.
var ErrRecipient = errors.New("mail: invalid recipient address")

func validRecipient(to string) bool {
	a, err := mail.ParseAddress(to)
	return err == nil && a.Address == to && !strings.ContainsAny(to, "\r\n")
}

// rendered is a Message after its template ran.
type rendered struct {
	m                   Message
	subject, text, html string
	unsubscribe         string
}

func render(tx *store.Tx, m Message) (rendered, error) {
	if !validRecipient(m.To) {
		return rendered{}, ErrRecipient
	}
	m.Language = Language(m.Language)
	t, err := templateTx(tx, m.Template, m.Language)
	if err != nil {
		return rendered{}, err
	}
	data := map[string]any{}
	for k, v := range m.Data {
		data[k] = v
	}
	data["Lang"] = m.Language
	if m.Unsubscribe != nil {
		data["UnsubscribeURL"] = m.Unsubscribe.URL
	}
	r := rendered{m: m}
	if r.subject, r.text, r.html, err = t.execute(data); err != nil {
		return rendered{}, err
	}
	if m.Unsubscribe != nil {
		if !strings.HasPrefix(m.Unsubscribe.URL, "https://") && !strings.HasPrefix(m.Unsubscribe.URL, "http://") {
			return rendered{}, errors.New("mail: the unsubscribe URL must be http(s)")
		}
		r.unsubscribe = m.Unsubscribe.Header()
	}
	return r, nil
}

const insertOutbox = `INSERT INTO mail_outbox (template, person_id, recipient, language, subject, text_body, html_body, unsubscribe, status, next_attempt_at, created_at) VALUES `
const outboxRow = `(?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`

func (r rendered) args(now int64) []any {
	var pid any
	if r.m.PersonID > 0 {
		pid = r.m.PersonID
	}
	return []any{r.m.Template, pid, r.m.To, r.m.Language, r.subject, r.text, r.html, r.unsubscribe, now, now}
}

// Enqueue renders m and adds it to the outbox inside tx: it is sent only
// if tx commits. It returns the outbox id.
//
// A person whose mail is blocked (erasure, GDPR Art. 17) gets nothing: the
// message is dropped and the id is 0.
func Enqueue(tx *store.Tx, m Message) (int64, error) {
	if m.PersonID != 0 {
		blocked, err := blockedPersons(tx, []int64{m.PersonID})
		if err != nil || blocked[m.PersonID] {
			return 0, err
		}
	}
	if err := checkAttachments(m.Attachments); err != nil {
		return 0, err
	}
	r, err := render(tx, m)
	if err != nil {
		return 0, err
	}
	now := store.Micros(time.Now())
	id, err := tx.InsertID(insertOutbox+outboxRow, r.args(now)...)
	if err != nil {
		return 0, fmt.Errorf("mail: enqueue: %w", err)
	}
	if err := insertAttachments(tx, id, m.Attachments); err != nil {
		return 0, err
	}
	return id, nil
}

// EnqueueBatch renders and queues many messages with few statements.
// It returns how many it queued.
func EnqueueBatch(tx *store.Tx, ms []Message) (int, error) {
	out := make([]rendered, 0, min(len(ms), 500))
	n := 0
	for _, m := range ms {
		if len(m.Attachments) > 0 {
			return n, ErrAttachmentBatch
		}
		r, err := render(tx, m)
		if err != nil {
			return n, err
		}
		out = append(out, r)
		if len(out) == cap(out) {
			k, err := insertRendered(tx, out)
			if err != nil {
				return n, err
			}
			n, out = n+k, out[:0]
		}
	}
	k, err := insertRendered(tx, out)
	return n + k, err
}

// blockedPersons returns which of ids get no mail: those with a mail block
// (erasure) and those whose processing is restricted (GDPR Art. 18).
func blockedPersons(tx *store.Tx, ids []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	in := store.Placeholders(len(ids))
	rows, err := tx.Query(`SELECT person_id FROM mail_blocks WHERE person_id IN (`+in+`)
		UNION SELECT id FROM persons WHERE id IN (`+in+`) AND status = 'restricted'`, append(args, args...)...)
	if err != nil {
		return nil, fmt.Errorf("mail: blocked persons: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// insertRendered writes rendered mails with one multi-row INSERT, leaving
// out persons whose mail is blocked; it returns how many it wrote.
func insertRendered(tx *store.Tx, rs []rendered) (int, error) {
	var ids []int64
	for _, r := range rs {
		if r.m.PersonID != 0 {
			ids = append(ids, r.m.PersonID)
		}
	}
	blocked, err := blockedPersons(tx, ids)
	if err != nil {
		return 0, err
	}
	if len(blocked) > 0 {
		kept := rs[:0:0]
		for _, r := range rs {
			if !blocked[r.m.PersonID] {
				kept = append(kept, r)
			}
		}
		rs = kept
	}
	if len(rs) == 0 {
		return 0, nil
	}
	now := store.Micros(time.Now())
	if tx.Dialect() == store.Postgres {
		return len(rs), insertUnnest(tx, rs, now)
	}
	var q strings.Builder
	q.WriteString(insertOutbox)
	args := make([]any, 0, len(rs)*10)
	for i, r := range rs {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(outboxRow)
		args = append(args, r.args(now)...)
	}
	if _, err := tx.Exec(q.String(), args...); err != nil {
		return 0, fmt.Errorf("mail: enqueue: %w", err)
	}
	return len(rs), nil
}

// insertUnnest is insertRendered for PostgreSQL: the columns travel as
// eight arrays, so the statement has eight parameters instead of thousands.
func insertUnnest(tx *store.Tx, rs []rendered, now int64) error {
	n := len(rs)
	tpl, to, lang, subj, text, html, unsub := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	pid := make([]int64, n)
	for i, r := range rs {
		tpl[i], pid[i], to[i], lang[i], subj[i], text[i], html[i], unsub[i] = r.m.Template, r.m.PersonID, r.m.To, r.m.Language, r.subject, r.text, r.html, r.unsubscribe
	}
	_, err := tx.Exec(`INSERT INTO mail_outbox (template, person_id, recipient, language, subject, text_body, html_body, unsubscribe, status, next_attempt_at, created_at)
		SELECT t, NULLIF(p, 0), r, l, s, tb, hb, u, 'queued', ?, ? FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS x(t, p, r, l, s, tb, hb, u)`,
		now, now, tpl, pid, to, lang, subj, text, html, unsub)
	if err != nil {
		return fmt.Errorf("mail: enqueue: %w", err)
	}
	return nil
}

// Language returns l when Consento has mail templates in it, else "en".
func Language(l string) string {
	switch l {
	case "en", "de", "da":
		return l
	}
	return "en"
}
