package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/ledger"
)

// auditPageSize is how many events one page of the audit log shows.
const auditPageSize = 100

// auditData is what templates/audit.html gets.
type auditData struct {
	// The filter form's values as typed.
	Action, ObjectType, ObjectID, PersonID, ActorID, Since, Until string
	Events                                                        []auditRow
	Next                                                          string // URL of the next (older) page
	Report                                                        *audit.Report
	CheckedAt                                                     time.Time
}

// auditRow is one event as the log shows it.
type auditRow struct {
	audit.Event
	Reason string
	// Changes lists, by label, each field the event changed (or, for a
	// created or removed object, each field it had).
	Changes []auditChange
	// Before and After are the stored JSON, shown only on demand under
	// "Technical details".
	Before, After string
}

// auditChange is one changed field: its label and its values before and
// after, as a reader says them ("" where there was none).
type auditChange struct{ Field, Before, After string }

// auditValueKinds names, for a field of a logged object, the kind of its
// values: the log shows them by their label, not as stored. "role" and
// "event_type" are looked up under their own catalogue prefixes.
var auditValueKinds = map[string]string{
	"kind": "consent_state", "state": "consent_state", "legal_basis": "legal_basis", "default_legal_basis": "legal_basis",
	"allowed_legal_bases": "legal_basis", "source": "source", "channel": "channel", "role": "role", "status": "person_status",
	"event_types": "event_type", "traffic_light": "traffic_light", "action": "retention_action", "language": "language",
	"created_by": "actor", "updated_by": "actor", "scopes": "scope",
}

// auditObjectKinds overrides auditValueKinds for fields whose values
// depend on the object logged.
var auditObjectKinds = map[string]map[string]string{
	"activity":     {"kind": "activity_kind"},
	"relationship": {"kind": "relationship_kind"},
	"recipient":    {"kind": "recipient_kind"},
	"request":      {"type": "case_type", "status": "case_state"},
	"breach":       {"status": "breach_status"},
	"mail":         {"status": "mail_state"},
	"source":       {"key": "source"},
	"custom_field": {"type": "field_type"},
}

// auditChanges lists the fields that differ between the logged before and
// after, flattened ("texts.de.name"), by key.
func auditChanges(lang, objectType string, before, after json.RawMessage) []auditChange {
	b, a := map[string]string{}, map[string]string{}
	flattenAudit(lang, objectType, "", "", decodeAudit(lang, objectType, before), b)
	flattenAudit(lang, objectType, "", "", decodeAudit(lang, objectType, after), a)
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []auditChange
	for _, k := range keys {
		if b[k] == a[k] {
			continue
		}
		out = append(out, auditChange{Field: auditFieldLabel(lang, k), Before: b[k], After: a[k]})
	}
	return out
}

// decodeAudit reads a logged object; a built-in source is named in lang.
func decodeAudit(lang, objectType string, raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	if m, ok := v.(map[string]any); ok && objectType == "source" {
		if key, ok := m["key"].(string); ok {
			if name, ok := m["name"].(string); ok {
				m["name"] = sourceName(lang, ledger.Source{Key: key, Name: name})
			}
		}
	}
	return v
}

// flattenAudit writes into out each leaf of v under its dotted key, as a
// reader says it; empty values are left out.
func flattenAudit(lang, objectType, key, kind string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if typ, ok := x["type"].(string); ok && key == "actor" {
			id, _ := x["id"].(string)
			out[key] = actorLabel(lang, audit.Actor{Type: typ, ID: id})
			return
		}
		for k, e := range x {
			sub := k
			if key != "" {
				sub = key + "." + k
			}
			kd := auditValueKinds[k]
			if o, ok := auditObjectKinds[objectType][k]; ok && key == "" {
				kd = o
			}
			if key == "custom" || strings.HasPrefix(key, "custom.") {
				kd = "" // staff-defined fields hold the staff's own values
			}
			flattenAudit(lang, objectType, sub, kd, e, out)
		}
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			m := map[string]string{}
			flattenAudit(lang, objectType, "", kind, e, m)
			if s := m[""]; s != "" {
				parts = append(parts, s)
			}
		}
		if len(parts) > 0 {
			out[key] = strings.Join(parts, ", ")
		}
	default:
		if s := auditValue(lang, kind, x); s != "" {
			out[key] = s
		}
	}
}

// auditValue is one logged value as a reader says it.
func auditValue(lang, kind string, v any) string {
	if s, ok := i18n.Scalar(lang, v); ok {
		return s
	}
	switch x := v.(type) {
	case string:
		switch {
		case x == "":
			return ""
		case x == "[sensitive]":
			return i18n.T(lang, "audit.value.sensitive")
		case kind == "event_type":
			return i18n.T(lang, "webhooks.type."+x)
		case kind == "role":
			return i18n.T(lang, "role."+x)
		case kind == "field_type":
			if i18n.Has(i18n.Reference, "settings.type."+x) {
				return i18n.T(lang, "settings.type."+x)
			}
			return x
		case kind == "actor":
			typ, id, _ := strings.Cut(x, ":")
			return actorLabel(lang, audit.Actor{Type: typ, ID: id})
		case kind == "language":
			if i18n.Has(i18n.Reference, "lang."+x) {
				return i18n.T(lang, "lang."+x)
			}
			return x
		case kind != "":
			return i18n.Label(lang, kind, x)
		}
		if len(x) >= 20 && x[4] == '-' && x[10] == 'T' {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return i18n.DateTime(lang, t)
			}
		}
		if len(x) == 10 && x[4] == '-' && x[7] == '-' {
			if t, err := time.Parse(time.DateOnly, x); err == nil {
				return i18n.Date(lang, t)
			}
		}
		return x
	}
	return fmt.Sprint(v)
}

// auditFieldLabel names a flattened field: each part by its field label,
// a language by its name, a staff-defined field by its key.
func auditFieldLabel(lang, key string) string {
	if labelled("field", key) {
		return i18n.Label(lang, "field", key)
	}
	parts := strings.Split(key, ".")
	first := parts[0]
	for i, part := range parts {
		switch {
		case i > 0 && first == "custom" && labelled("sensitive_field", part):
			parts[i] = i18n.Label(lang, "sensitive_field", part)
		case i > 0 && first == "custom":
			// a staff-defined field: its key is the staff's own word
		case i > 0 && first == "texts" && i18n.Has(i18n.Reference, "lang."+part):
			parts[i] = i18n.T(lang, "lang."+part)
		default:
			parts[i] = i18n.Label(lang, "field", part)
		}
	}
	return strings.Join(parts, " › ")
}

// labelled reports whether value of kind has a label.
func labelled(kind, value string) bool { return i18n.Label(i18n.Reference, kind, value) != value }

// rawJSON is the stored JSON, indented, for the technical details.
func rawJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// auditFilter reads the filters of the audit log from the query; msg is a
// translated explanation of the first bad value.
func auditFilter(lang string, q url.Values) (f audit.Filter, d auditData, msg string) {
	d = auditData{
		Action: strings.TrimSpace(q.Get("action")), ObjectType: strings.TrimSpace(q.Get("object_type")),
		ObjectID: strings.TrimSpace(q.Get("object_id")), PersonID: strings.TrimSpace(q.Get("person_id")),
		ActorID: strings.TrimSpace(q.Get("actor_id")), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")),
	}
	f = audit.Filter{Action: d.Action, ObjectType: d.ObjectType, ObjectID: d.ObjectID, ActorID: d.ActorID, Limit: auditPageSize + 1}
	for _, v := range []string{d.Action, d.ObjectType, d.ObjectID, d.ActorID} {
		if len(v) > 200 {
			return f, d, i18n.T(lang, "audit.bad.long")
		}
	}
	if d.PersonID != "" {
		id, err := strconv.ParseInt(d.PersonID, 10, 64)
		if err != nil || id <= 0 {
			return f, d, i18n.T(lang, "audit.bad.person")
		}
		f.PersonID = id
	}
	if d.Since != "" {
		t, err := input.Date(d.Since)
		if err != nil {
			return f, d, i18n.T(lang, "audit.bad.date", d.Since)
		}
		f.Since = t
	}
	if d.Until != "" {
		t, err := input.Date(d.Until)
		if err != nil {
			return f, d, i18n.T(lang, "audit.bad.date", d.Until)
		}
		f.Until = t.AddDate(0, 0, 1) // inclusive: up to the end of that day
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, d, i18n.T(lang, "audit.bad.range")
	}
	if b := q.Get("before"); b != "" {
		seq, err := strconv.ParseInt(b, 10, 64)
		if err != nil || seq <= 0 {
			return f, d, i18n.T(lang, "audit.bad.before")
		}
		f.Before = seq
	}
	return f, d, ""
}

// auditLog lists audit events, newest first, a page at a time.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, p page) {
	s.renderAudit(w, r, p, nil)
}

// verifyAudit checks the whole hash chain and shows the result above the log.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, p page) {
	rep, err := audit.Verify(r.Context(), s.ledger.DB())
	if err != nil {
		s.failErr(w, p, err, "verify audit chain")
		return
	}
	if !rep.OK {
		s.log.Warn("audit chain broken", "first_bad", rep.FirstBad, "problem", rep.Problem)
	}
	s.renderAudit(w, r, p, &rep)
}

func (s *Server) renderAudit(w http.ResponseWriter, r *http.Request, p page, rep *audit.Report) {
	f, d, msg := auditFilter(p.Lang, r.URL.Query())
	if msg != "" {
		s.fail(w, p, http.StatusUnprocessableEntity, msg)
		return
	}
	evs, err := audit.List(r.Context(), s.ledger.DB(), f)
	if err != nil {
		s.failErr(w, p, err, "list audit events")
		return
	}
	if len(evs) > auditPageSize {
		evs = evs[:auditPageSize]
		next := url.Values{"before": {strconv.FormatInt(evs[len(evs)-1].Seq, 10)}}
		for k, v := range map[string]string{"action": d.Action, "object_type": d.ObjectType, "object_id": d.ObjectID,
			"person_id": d.PersonID, "actor_id": d.ActorID, "since": d.Since, "until": d.Until} {
			if v != "" {
				next.Set(k, v)
			}
		}
		d.Next = "/audit?" + next.Encode()
	}
	d.Events = make([]auditRow, len(evs))
	for i, ev := range evs {
		row := auditRow{Event: ev}
		if ev.Payload != nil {
			row.Reason, row.Before, row.After = ev.Payload.Reason, rawJSON(ev.Payload.Before), rawJSON(ev.Payload.After)
			row.Changes = auditChanges(p.Lang, ev.ObjectType, ev.Payload.Before, ev.Payload.After)
		}
		d.Events[i] = row
	}
	if rep != nil {
		d.Report, d.CheckedAt = rep, time.Now().UTC()
	}
	p.Title, p.Data = i18n.T(p.Lang, "audit.title"), d
	s.render(w, http.StatusOK, "audit", p)
}
