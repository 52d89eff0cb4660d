package webhook

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
)

// An event the dispatcher found in the audit log.
type sourceEvent struct {
	seq        int64
	at         int64
	action     string
	objectType string
	objectID   string
	personID   sql.NullInt64
	payload    []byte // as stored: sealed when personID is set
	key        []byte // the person's audit key, nil when destroyed
}

// dataFunc builds the minimal data of an event's payload inside the
// dispatcher's transaction: identifiers, states, legal basis, source,
// level. Never names, addresses, free-text reasons or notes.
type dataFunc func(tx *store.Tx, ev *sourceEvent) (map[string]any, error)

// mapping turns an audit action into a webhook event type.
type mapping struct {
	Action string // the audit action
	Type   string // the event type subscribers choose
	Data   dataFunc
}

// mappings is the table of audit actions that are webhook events. A new
// lifecycle event is one more line here.
var mappings = []mapping{
	{"consent.granted", "consent.granted", consentData},
	{"consent.withdrawn", "consent.withdrawn", consentData},
	{"consent.refused", "consent.refused", consentData},
	{"consent.objected", "consent.objected", consentData},
	{"consent.expired", "consent.expired", consentData},
	{"consent.pending", "consent.pending", consentData},
	{"person.erase", "person.erased", erasureData},
	{"person.delete", "person.deleted", personData},
	{"person.restrict", "person.restricted", personData},
	{"person.unrestrict", "person.restriction_lifted", personData},
	{"request.create", "request.created", requestData},
	{"request.verify", "request.updated", requestData},
	{"request.link", "request.updated", requestData},
	{"request.assign", "request.updated", requestData},
	{"request.extend", "request.updated", requestData},
	{"request.start", "request.updated", requestData},
	{"request.complete", "request.updated", requestData},
	{"request.reject", "request.updated", requestData},
	{"request.escalate", "request.updated", requestData},
}

// TestType is the event type of test deliveries, sent whatever a
// subscription chose.
const TestType = "webhook.test"

var byAction = func() map[string]mapping {
	m := make(map[string]mapping, len(mappings))
	for _, mp := range mappings {
		m[mp.Action] = mp
	}
	return m
}()

// EventTypes lists the event types a subscription may choose, in order.
func EventTypes() []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range mappings {
		if !seen[m.Type] {
			seen[m.Type] = true
			out = append(out, m.Type)
		}
	}
	return out
}

func objectNum(ev *sourceEvent) int64 {
	n, _ := strconv.ParseInt(ev.objectID, 10, 64)
	return n
}

// consentData reads the consent event itself: it never changes, so the
// payload is exact however late the dispatcher runs.
func consentData(tx *store.Tx, ev *sourceEvent) (map[string]any, error) {
	id := objectNum(ev)
	d := map[string]any{"consent_event_id": id}
	if ev.personID.Valid {
		d["person_id"] = ev.personID.Int64
	}
	var personID, occurred, version int64
	var purpose, kind, basis string
	var source sql.NullString
	var until sql.NullInt64
	err := tx.QueryRow(`SELECT e.person_id, p.key, e.kind, e.legal_basis, s.key, e.text_version, e.occurred_at, e.valid_until
		FROM consent_events e JOIN purposes p ON p.id = e.purpose_id LEFT JOIN sources s ON s.id = e.source_id WHERE e.id = ?`, id).
		Scan(&personID, &purpose, &kind, &basis, &source, &version, &occurred, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: consent event %d: %w", id, err)
	}
	d["person_id"], d["purpose"], d["state"], d["legal_basis"] = personID, purpose, kind, basis
	d["text_version"], d["occurred_at"] = version, rfc3339(occurred)
	if source.Valid {
		d["source"] = source.String
	}
	if until.Valid {
		d["valid_until"] = rfc3339(until.Int64)
	}
	return d, nil
}

func personData(_ *store.Tx, ev *sourceEvent) (map[string]any, error) {
	return map[string]any{"person_id": objectNum(ev)}, nil
}

// erasureData names the person and the erasure level. Level 3 events are
// kept in clear; below, the payload is sealed under the person's key,
// which still exists: it is opened only to read the level.
func erasureData(_ *store.Tx, ev *sourceEvent) (map[string]any, error) {
	d := map[string]any{"person_id": objectNum(ev)}
	p, err := audit.OpenPayload(ev.seq, ev.payload, ev.key, ev.personID.Valid)
	if err != nil || p == nil {
		return d, err
	}
	var after struct {
		Level int `json:"level"`
	}
	if json.Unmarshal(p.After, &after) == nil && after.Level > 0 {
		d["level"] = after.Level
	}
	return d, nil
}

// requestData reads the case's state now (type, status, deadlines): the
// action says what changed.
func requestData(tx *store.Tx, ev *sourceEvent) (map[string]any, error) {
	id := objectNum(ev)
	d := map[string]any{"request_id": id}
	if _, action, ok := cutDot(ev.action); ok && ev.action != "request.create" {
		d["change"] = action
	}
	var typ, status, received, due, extended string
	var personID sql.NullInt64
	err := tx.QueryRow(`SELECT type, status, person_id, received_on, due_on, extended_due_on FROM rights_requests WHERE id = ?`, id).
		Scan(&typ, &status, &personID, &received, &due, &extended)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: request %d: %w", id, err)
	}
	d["type"], d["status"], d["received_on"], d["due_on"] = typ, status, received, due
	if extended != "" {
		d["extended_due_on"] = extended
	}
	if personID.Valid {
		d["person_id"] = personID.Int64
	}
	return d, nil
}

func cutDot(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func rfc3339(us int64) string { return store.FromMicros(us).Format("2006-01-02T15:04:05.999999Z07:00") }
