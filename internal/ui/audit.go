package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	Reason        string
	Before, After *jsonView
}

// jsonView is a JSON value shown compactly with a pretty version to unfold.
type jsonView struct{ Short, Pretty string }

// auditValueKinds names, for a field of a logged object, the kind of its
// values: the log shows them by their label, not as stored.
var auditValueKinds = map[string]string{
	"kind": "consent_state", "state": "consent_state", "legal_basis": "legal_basis", "default_legal_basis": "legal_basis",
	"allowed_legal_bases": "legal_basis", "source": "source", "channel": "channel", "role": "role", "status": "person_status",
	"event_types": "event_type",
}

// labelValues replaces, in a logged object, each value of a field named in
// auditValueKinds by its label in lang.
func labelValues(lang string, v any, kind string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = labelValues(lang, e, auditValueKinds[k])
		}
	case []any:
		for i, e := range x {
			x[i] = labelValues(lang, e, kind)
		}
	case string:
		if kind == "event_type" {
			return i18n.T(lang, "webhooks.type."+x)
		}
		if kind == "role" {
			return i18n.T(lang, "role."+x)
		}
		if kind != "" {
			return i18n.Label(lang, kind, x)
		}
	}
	return v
}

func newJSONView(lang, objectType string, raw json.RawMessage) *jsonView {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) == nil {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if m, ok := v.(map[string]any); ok && objectType == "source" {
			if key, ok := m["key"].(string); ok {
				if name, ok := m["name"].(string); ok {
					m["name"] = sourceName(lang, ledger.Source{Key: key, Name: name})
				}
				delete(m, "key")
			}
		}
		if enc.Encode(labelValues(lang, v, "")) == nil {
			raw = bytes.TrimSpace(b.Bytes())
		}
	}
	var compact, pretty bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		compact.Reset()
		compact.Write(raw)
	}
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(raw)
	}
	short := compact.String()
	if utf8.RuneCountInString(short) > 60 {
		short = string([]rune(short)[:60]) + "…"
	}
	return &jsonView{Short: short, Pretty: pretty.String()}
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
			row.Reason, row.Before, row.After = ev.Payload.Reason, newJSONView(p.Lang, ev.ObjectType, ev.Payload.Before), newJSONView(p.Lang, ev.ObjectType, ev.Payload.After)
		}
		d.Events[i] = row
	}
	if rep != nil {
		d.Report, d.CheckedAt = rep, time.Now().UTC()
	}
	p.Title, p.Data = i18n.T(p.Lang, "audit.title"), d
	s.render(w, http.StatusOK, "audit", p)
}
