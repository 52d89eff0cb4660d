package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/consento/consento/internal/api"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/webhook"
)

// The tests in this file prove that every text a client sends is bounded
// and clean: the document states a maxLength for every string of every
// request body, and the server refuses a NUL, another control character,
// a line break in a one-line field and an over-long value with 422 naming
// the field, on both engines alike, without writing anything.

// oaBounded reports whether a string schema bounds its values by itself.
func oaBounded(m map[string]any) bool {
	if _, ok := m["maxLength"]; ok {
		return true
	}
	if _, ok := m["enum"]; ok {
		return true
	}
	if _, ok := m["const"]; ok {
		return true
	}
	if f := m["format"]; f == "date" || f == "date-time" {
		return true
	}
	if p, ok := m["pattern"].(string); ok && strings.HasPrefix(p, "^") && strings.HasSuffix(p, "$") && !strings.ContainsAny(p, "*+") && !strings.Contains(p, ",}") {
		return true
	}
	return false
}

func oaHasType(m map[string]any, t string) bool {
	switch ty := m["type"].(type) {
	case string:
		return ty == t
	case []any:
		return slices.Contains(ty, any(t))
	}
	return false
}

// oaStrings calls fn on every string schema reachable from schema, with
// its path: "a.b", "a[]" for items, "a.{}" for additionalProperties.
func (s *oaSpec) oaStrings(schema any, at string, seen map[string]bool, fn func(at string, m map[string]any)) {
	if b, ok := schema.(bool); ok {
		if b {
			fn(at, nil) // any value at all: unbounded
		}
		return
	}
	raw, ok := schema.(map[string]any)
	if !ok {
		return
	}
	if r, ok := raw["$ref"].(string); ok {
		if seen[r+"@"+at] {
			return
		}
		seen[r+"@"+at] = true
	}
	m := s.deref(raw)
	if m == nil {
		return
	}
	if oaHasType(m, "string") && m["readOnly"] != true {
		fn(at, m)
	}
	join := func(k string) string {
		if at == "" {
			return k
		}
		return at + "." + k
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for k, v := range props {
			s.oaStrings(v, join(k), seen, fn)
		}
	}
	if items, ok := m["items"]; ok {
		s.oaStrings(items, at+"[]", seen, fn)
	}
	if ap, ok := m["additionalProperties"]; ok {
		s.oaStrings(ap, join("{}"), seen, fn)
	}
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		alts, _ := m[kw].([]any)
		for _, sub := range alts {
			s.oaStrings(sub, at, seen, fn)
		}
	}
}

// requestSchema is the JSON schema of an operation's request body.
func (s *oaSpec) requestSchema(o oaOp) (any, bool) {
	rb := s.deref(o.op["requestBody"])
	content, _ := rb["content"].(map[string]any)
	media, ok := content["application/json"].(map[string]any)
	if !ok {
		return nil, false
	}
	return media["schema"], true
}

func TestOpenAPIRequestStringsAreBounded(t *testing.T) {
	s := loadOpenAPI(t)
	n := 0
	for _, o := range s.ops() {
		schema, ok := s.requestSchema(o)
		if !ok {
			continue
		}
		s.oaStrings(schema, "", map[string]bool{}, func(at string, m map[string]any) {
			n++
			if m == nil {
				t.Errorf("%s: %s accepts any value, unbounded", o.key(), at)
				return
			}
			if !oaBounded(m) {
				t.Errorf("%s: the string %s has no maxLength (nor an enum, a date format or a bounded pattern)", o.key(), at)
			}
		})
	}
	if n < 100 {
		t.Fatalf("only %d request strings found: the walk is broken", n)
	}
}

// attackCase is one write endpoint with a valid body; every string in it
// is attacked in turn.
type attackCase struct {
	method, tmpl, path string
	body               map[string]any
	// ignored lists schema string paths this endpoint does not read (the
	// case steps share one schema).
	ignored []string
	// field maps a body path to the field the error names when it differs.
	field map[string]string
}

// multiLine are the body paths (normalised like oaStrings) where tab and
// line breaks are allowed.
var multiLine = map[string]bool{
	"reason": true, "body": true, "details": true, "description": true, "consequences": true, "measures": true,
	"dpo_contact": true, "late_reason": true, "balancing_test": true, "outcome": true, "address.street": true,
	"texts.{}.description": true, "texts.{}.consent_text": true, "evidence.note": true, "evidence.form.{}": true, "custom.{}": true,
}

// normPath turns "texts.en.name" into the schema path "texts.{}.name"
// using the schema's own paths.
func normPath(p string, known map[string]bool) string {
	if known[p] {
		return p
	}
	parts := strings.Split(p, ".")
	for i := range parts {
		trial := slices.Clone(parts)
		trial[i] = "{}"
		if q := strings.Join(trial, "."); known[q] {
			return q
		}
	}
	return p
}

// leaves lists the string leaves of v with their paths ("a.b", "a[0]").
func leaves(v any, at string, fn func(at string, s string)) {
	switch x := v.(type) {
	case string:
		fn(at, x)
	case map[string]any:
		for k, c := range x {
			p := k
			if at != "" {
				p = at + "." + k
			}
			leaves(c, p, fn)
		}
	case []any:
		for i, c := range x {
			leaves(c, fmt.Sprintf("%s[%d]", at, i), fn)
		}
	}
}

// setLeaf returns a deep copy of body with the leaf at path set to v.
func setLeaf(body map[string]any, path string, v string) map[string]any {
	b, _ := json.Marshal(body)
	var out map[string]any
	json.Unmarshal(b, &out)
	var cur any = out
	tokens := strings.Split(strings.NewReplacer("[", ".[").Replace(path), ".")
	for i, tok := range tokens {
		last := i == len(tokens)-1
		if strings.HasPrefix(tok, "[") {
			n, _ := strconv.Atoi(strings.Trim(tok, "[]"))
			a := cur.([]any)
			if last {
				a[n] = v
			} else {
				cur = a[n]
			}
			continue
		}
		m := cur.(map[string]any)
		if last {
			m[tok] = v
		} else {
			cur = m[tok]
		}
	}
	return out
}

// maxAt is the documented maxLength at a schema path.
func (s *oaSpec) maxAt(schema any, path string) int {
	max := 0
	s.oaStrings(schema, "", map[string]bool{}, func(at string, m map[string]any) {
		if at == path && m != nil {
			if n, ok := m["maxLength"].(float64); ok {
				max = int(n)
			}
		}
	})
	return max
}

// rowCounts fingerprints what is stored: the rows of every table a write
// endpoint touches, and the audit log every write appends to.
func rowCounts(t *testing.T, e *env) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"persons", "person_emails", "person_phones", "organisations", "sources", "purposes", "purpose_texts", "custom_fields",
		"consent_events", "evidence_files", "activities", "documents", "relationships", "business_records", "rights_requests", "rights_request_notes",
		"calendar_days", "recipients", "breaches", "breach_persons", "breach_entries", "webhook_subscriptions", "person_secrets", "audit_events"} {
		var n int
		if err := e.db.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

func TestWriteEndpointsRefuseBadTexts(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		s := loadOpenAPI(t)
		e.api.EnableWebhooks(webhook.New(e.db, webhook.Options{AllowPrivate: true}))
		mk := func(method, path string, body any) int64 {
			t.Helper()
			res := e.do(method, path, body)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode/100 != 2 {
				t.Fatalf("setup %s %s: %d %s", method, path, res.StatusCode, b)
			}
			var v struct {
				ID int64 `json:"id"`
			}
			json.Unmarshal(b, &v)
			return v.ID
		}
		mk("POST", "/api/v1/custom-fields", map[string]any{"key": "remark", "label": "Remark", "type": "text"})
		mk("POST", "/api/v1/sources", map[string]any{"key": "fair_2026", "name": "Fair 2026"})
		org := mk("POST", "/api/v1/organisations", map[string]any{"name": "Acme GmbH"})
		anna := mk("POST", "/api/v1/persons", map[string]any{"last_name": "Berg", "emails": []string{"anna@example.com"}})
		req := mk("POST", "/api/v1/rights-requests", map[string]any{"person_id": anna, "type": "access"})
		breachID := mk("POST", "/api/v1/breaches", map[string]any{"title": "Laptop lost", "description": "A laptop was lost.", "aware_at": "2026-01-01T10:00:00Z"})
		recip := mk("POST", "/api/v1/recipients", map[string]any{"name": "Mailer Ltd", "kind": "processor", "email": "dpo@mailer.example"})
		hook := mk("POST", "/api/v1/webhooks", map[string]any{"url": e.srv.URL + "/hook", "event_types": []string{"consent.granted"}})

		texts := map[string]any{"en": map[string]any{"name": "Phone marketing", "description": "Calls with offers.", "consent_text": "Yes, call me."}}
		allTexts := map[string]any{"en": texts["en"],
			"de": map[string]any{"name": "Telefonmarketing", "description": "Anrufe.", "consent_text": "Ja."},
			"da": map[string]any{"name": "Telefonmarketing", "description": "Opkald.", "consent_text": "Ja."}}
		person := map[string]any{"first_name": "Anna", "last_name": "Berg", "emails": []any{"anna2@example.com"},
			"phones":  []any{map[string]any{"kind": "mobile", "number": "+49 170 1234567"}},
			"address": map[string]any{"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
			"custom":  map[string]any{"remark": "met at the fair"}, "source": "fair_2026", "reason": "met at the fair"}
		patch := map[string]any{"first_name": "Anna", "last_name": "Berg", "emails": []any{"anna@example.com"},
			"phones":  []any{map[string]any{"kind": "mobile", "number": "+49 170 1234567"}},
			"address": map[string]any{"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
			"custom":  map[string]any{"remark": "met at the fair"}, "reason": "typo"}
		reqP := fmt.Sprintf("/api/v1/rights-requests/%d", req)
		annaP := fmt.Sprintf("/api/v1/persons/%d", anna)
		breachP := fmt.Sprintf("/api/v1/breaches/%d", breachID)
		step := func(sub, field, value string) attackCase {
			var ignored []string
			for _, f := range []string{"method", "reason", "outcome", "body", "region"} {
				if f != field {
					ignored = append(ignored, f)
				}
			}
			return attackCase{"POST", "/api/v1/rights-requests/{id}/" + sub, reqP + "/" + sub, map[string]any{field: value}, ignored, nil}
		}
		noText := func(method, tmpl, path string, body map[string]any) attackCase { // reads no text of the shared schema
			return attackCase{method, tmpl, path, body, []string{"method", "reason", "outcome", "body", "region"}, nil}
		}
		breach := map[string]any{"title": "Laptop lost", "description": "A laptop was lost.", "aware_at": "2026-01-01T10:00:00Z",
			"detected_by": "IT", "data_categories": []any{"contact data"}, "subject_categories": []any{"customers"},
			"consequences": "Possible misuse.", "measures": "Remote wipe.", "dpo_contact": "dpo@example.com"}
		categories := map[string]string{"data_categories[0]": "data_categories", "subject_categories[0]": "subject_categories"}
		cases := []attackCase{
			{"POST", "/api/v1/persons", "/api/v1/persons", person, nil, nil},
			{"PATCH", "/api/v1/persons/{id}", annaP, patch, nil, nil},
			{"POST", "/api/v1/persons/find-by-email", "/api/v1/persons/find-by-email", map[string]any{"email": "anna@example.com"}, nil, nil},
			{"POST", "/api/v1/organisations", "/api/v1/organisations", map[string]any{"name": "Beta AG", "reg_number": "HRB 1", "country": "DE"}, nil, nil},
			{"PUT", "/api/v1/organisations/{id}", fmt.Sprintf("/api/v1/organisations/%d", org), map[string]any{"name": "Acme AG", "reg_number": "HRB 2", "country": "DE"}, nil, nil},
			{"POST", "/api/v1/consent-events", "/api/v1/consent-events", map[string]any{"email": "anna@example.com", "purpose": "e_marketing", "kind": "granted",
				"source": "web_form", "reason": "signed up", "evidence": map[string]any{"note": "newsletter form", "form_url": "https://example.com/signup",
					"form": map[string]any{"newsletter": "on"}, "ip": "192.0.2.7", "user_agent": "Firefox",
					"files": []any{map[string]any{"name": "signup.eml", "media_type": "message/rfc822", "content": "eWVz"}}}},
				[]string{"evidence.files[].content"}, nil},
			{"POST", "/api/v1/purposes", "/api/v1/purposes", map[string]any{"key": "phone_marketing", "default_legal_basis": "consent", "consent_required": true,
				"dpv_purpose": "https://w3id.org/dpv#DirectMarketing", "balancing_test": "none needed", "texts": allTexts}, nil, nil},
			{"PATCH", "/api/v1/purposes/{key}", "/api/v1/purposes/e_marketing", map[string]any{"dpv_purpose": "https://w3id.org/dpv#DirectMarketing",
				"balancing_test": "none needed", "texts": texts, "reason": "reworded"}, nil, nil},
			{"POST", "/api/v1/sources", "/api/v1/sources", map[string]any{"key": "fair_2027", "name": "Fair 2027"}, nil, nil},
			{"PATCH", "/api/v1/sources/{key}", "/api/v1/sources/fair_2026", map[string]any{"name": "Fair 2026 Berlin"}, nil, nil},
			{"POST", "/api/v1/custom-fields", "/api/v1/custom-fields", map[string]any{"key": "tier", "label": "Tier", "type": "select", "options": []any{"gold", "silver"}}, nil, nil},
			{"POST", "/api/v1/persons/{id}/activities", annaP + "/activities", map[string]any{"kind": "call", "subject": "Follow-up", "body": "Talked.", "author": "Ben"}, nil, nil},
			{"POST", "/api/v1/persons/{id}/documents", annaP + "/documents", map[string]any{"filename": "contract.pdf", "media_type": "application/pdf", "content": "eWVz"},
				[]string{"content"}, nil},
			{"POST", "/api/v1/persons/{id}/business-records", annaP + "/business-records", map[string]any{"kind": "order", "number": "A-1", "issued_on": "2026-01-02",
				"amount_cents": 1250, "currency": "EUR", "description": "Two chairs."}, nil, nil},
			{"POST", "/api/v1/rights-requests", "/api/v1/rights-requests", map[string]any{"person_id": anna, "type": "objection", "requester_email": "anna@example.com",
				"country": "DE", "region": "DE-BY", "details": "By letter.", "purpose": "e_marketing"}, nil, nil},
			step("verify", "method", "ID card"),
			step("extend", "reason", "many systems to search"),
			step("complete", "outcome", "sent the copy"),
			step("reject", "reason", "not the person"),
			step("notes", "body", "called back"),
			step("restriction", "reason", "accuracy contested"),
			noText("POST", "/api/v1/rights-requests/{id}/assign", reqP+"/assign", map[string]any{"assignee_id": 0}),
			noText("POST", "/api/v1/rights-requests/{id}/link", reqP+"/link", map[string]any{"person_id": anna}),
			noText("POST", "/api/v1/rights-requests/{id}/start", reqP+"/start", map[string]any{}),
			{"POST", "/api/v1/rights-requests/{id}/calendar", reqP + "/calendar", map[string]any{"country": "DE", "region": "DE-BY"}, []string{"method", "reason", "outcome", "body"}, nil},
			{"POST", "/api/v1/rights-requests/{id}/objection", reqP + "/objection", map[string]any{"purpose": "e_marketing"}, nil, nil},
			{"POST", "/api/v1/rights-requests/{id}/erasure", reqP + "/erasure", map[string]any{"level": 1, "reason": "asked by letter"}, nil, nil},
			{"POST", "/api/v1/persons/{id}/restriction/lift", annaP + "/restriction/lift", map[string]any{"reason": "accuracy confirmed"}, nil, nil},
			{"PUT", "/api/v1/holidays", "/api/v1/holidays", map[string]any{"country": "DE", "region": "DE-BY", "holidays": []any{map[string]any{"day": "2026-12-25", "name": "Weihnachten"}}},
				[]string{"days_off[].name", "days_off[].region"}, nil}, // days_off is the answer's list
			{"POST", "/api/v1/breaches", "/api/v1/breaches", breach, nil, categories},
			{"PUT", "/api/v1/breaches/{id}", breachP, breach, nil, categories},
			{"POST", "/api/v1/breaches/{id}/persons", breachP + "/persons", map[string]any{"emails": []any{"anna@example.com"}}, nil, nil},
			{"POST", "/api/v1/breaches/{id}/persons/{person_id}/unlink", fmt.Sprintf("%s/persons/%d/unlink", breachP, anna), map[string]any{"reason": "linked by mistake"}, nil, nil},
			{"POST", "/api/v1/breaches/{id}/authority-notification", breachP + "/authority-notification", map[string]any{"authority": "BfDI", "reference": "2026-1",
				"late_reason": "the report came late", "reason": "no risk at all here"}, nil, nil},
			{"POST", "/api/v1/breaches/{id}/entries", breachP + "/entries", map[string]any{"kind": "followup", "body": "Sent the report."}, nil, nil},
			{"POST", "/api/v1/recipients", "/api/v1/recipients", map[string]any{"name": "Print Ltd", "kind": "processor", "email": "dpo@print.example", "country": "DK"}, nil, nil},
			{"PUT", "/api/v1/recipients/{id}", fmt.Sprintf("/api/v1/recipients/%d", recip), map[string]any{"name": "Mailer Ltd", "kind": "processor", "email": "dpo@mailer.example", "country": "DK"}, nil, nil},
			{"POST", "/api/v1/webhooks", "/api/v1/webhooks", map[string]any{"url": e.srv.URL + "/crm", "description": "CRM sync", "event_types": []any{"consent.granted"}}, nil, nil},
			{"PUT", "/api/v1/webhooks/{id}", fmt.Sprintf("/api/v1/webhooks/%d", hook), map[string]any{"url": e.srv.URL + "/crm", "description": "CRM sync", "event_types": []any{"consent.granted"}}, nil, nil},
			{"POST", "/api/v1/persons/find-by-sensitive", "/api/v1/persons/find-by-sensitive", map[string]any{"field": "national_id", "value": "OA-1234"}, nil, nil},
			{"POST", "/api/v1/persons/{id}/sensitive/{key}/unmask", annaP + "/sensitive/national_id/unmask", map[string]any{"reason": "documented answer"}, nil, nil},
			{"PUT", "/api/v1/persons/{id}/retention", annaP + "/retention", map[string]any{"retain_until": "2030-01-31", "reason": "contract"}, nil, nil},
		}

		// Every write operation with a string in its body is in the table.
		covered := map[string]bool{}
		for _, c := range cases {
			covered[c.method+" "+c.tmpl] = true
		}
		for _, o := range s.ops() {
			schema, ok := s.requestSchema(o)
			if !ok {
				continue
			}
			var free []string
			s.oaStrings(schema, "", map[string]bool{}, func(at string, m map[string]any) {
				if m != nil && m["enum"] == nil && m["pattern"] == nil && m["format"] != "date" && m["format"] != "date-time" {
					free = append(free, at)
				}
			})
			if len(free) > 0 && !covered[o.key()] {
				t.Errorf("%s takes texts (%v) but is not attacked here", o.key(), free)
			}
		}

		for _, c := range cases {
			o, ok := s.op(c.method, c.tmpl)
			if !ok {
				t.Fatalf("%s %s is not documented", c.method, c.tmpl)
			}
			schema, _ := s.requestSchema(o)
			// The attacked strings: every free text the schema has, each
			// present in the valid body.
			known := map[string]bool{}
			var want []string
			s.oaStrings(schema, "", map[string]bool{}, func(at string, m map[string]any) {
				known[at] = true
				if m != nil && m["enum"] == nil && m["pattern"] == nil && m["format"] != "date" && m["format"] != "date-time" && !slices.Contains(c.ignored, at) {
					want = append(want, at)
				}
			})
			have := map[string]bool{}
			type leaf struct{ path, norm, value string }
			var ls []leaf
			leaves(c.body, "", func(at, v string) {
				n := normPath(strings.NewReplacer("[0]", "[]").Replace(at), known)
				if !slices.Contains(want, n) {
					return
				}
				have[n] = true
				ls = append(ls, leaf{at, n, v})
			})
			for _, w := range want {
				if !have[w] {
					t.Errorf("%s: the valid body lacks the text %s, so it is not attacked", o.key(), w)
				}
			}
			for _, l := range ls {
				max := s.maxAt(schema, l.norm)
				if max == 0 {
					t.Errorf("%s: %s has no documented maxLength", o.key(), l.norm)
					continue
				}
				mid := min(1, len(l.value))
				attacks := map[string]string{
					"NUL":      l.value[:mid] + "\x00" + l.value[mid:],
					"BEL":      l.value[:mid] + "\x07" + l.value[mid:],
					"ESC":      "\x1b[2J" + l.value,
					"too long": strings.Repeat("x", max+1),
				}
				if !multiLine[l.norm] {
					attacks["CR LF"] = l.value[:mid] + "\r\n" + l.value[mid:]
				}
				field := l.path
				if f, ok := c.field[l.path]; ok {
					field = f
				}
				for name, v := range attacks {
					before := rowCounts(t, e)
					res := e.do(c.method, c.path, setLeaf(c.body, l.path, v))
					b := s.check(t, c.method, c.tmpl, res)
					var p api.Problem
					json.Unmarshal(b, &p)
					named := slices.ContainsFunc(p.Errors, func(fe ledger.FieldError) bool { return fe.Field == field || fe.Field == l.path })
					if res.StatusCode != http.StatusUnprocessableEntity || !named {
						t.Errorf("%s %s with %s in %s: %d %s, want 422 naming %s", c.method, c.tmpl, name, l.path, res.StatusCode, oaShort(string(b)), field)
						continue
					}
					if after := rowCounts(t, e); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Errorf("%s %s with %s in %s: refused, but rows changed: %v → %v", c.method, c.tmpl, name, l.path, before, after)
					}
				}
			}
		}
	})
}

// TestSearchParametersWithControlCharacters sends a NUL and other control
// characters in every string query parameter of every GET operation: the
// answer is a clean 4xx or a (possibly empty) result, never a 500, and
// both engines answer alike.
func TestSearchParametersWithControlCharacters(t *testing.T) {
	answers := map[string]map[string]int{} // engine → "op?param" → status
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		s := loadOpenAPI(t)
		got := map[string]int{}
		answers[string(eng)] = got
		for _, o := range s.ops() {
			if o.method != "GET" {
				continue
			}
			params, _ := o.op["parameters"].([]any)
			for _, raw := range params {
				p := s.deref(raw)
				sc := s.deref(p["schema"])
				if p["in"] != "query" || sc == nil || !oaHasType(sc, "string") {
					continue
				}
				name, _ := p["name"].(string)
				path := oaSample(o.path)
				for _, v := range []string{"a\x00b", "\x00", "x\x1b\x07", "\xff\xfe", strings.Repeat("q", 1000)} {
					res := e.do("GET", path+"?"+url.Values{name: {v}}.Encode(), nil)
					body := s.check(t, o.method, o.path, res)
					if res.StatusCode >= 500 {
						t.Errorf("GET %s?%s=%q: %d %s", o.path, name, v, res.StatusCode, oaShort(string(body)))
					}
					got[fmt.Sprintf("%s?%s=%q", o.path, name, v)] = res.StatusCode
				}
			}
		}
		if len(got) < 10 {
			t.Fatalf("only %d query parameters tried: the walk is broken", len(got))
		}
	})
	if sq, pg := answers["sqlite"], answers["postgres"]; sq != nil && pg != nil {
		for k, a := range sq {
			if b, ok := pg[k]; ok && a/100 != b/100 {
				t.Errorf("GET %s: SQLite answers %d, PostgreSQL %d", k, a, b)
			}
		}
	}
}

// TestMultiLineTextsKeepLineBreaks: where a field is multi-line, tab and
// line breaks are stored as sent.
func TestMultiLineTextsKeepLineBreaks(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p := e.createPerson("Anna", "Berg", "anna@example.com")
		note := "Line one\r\nLine two\n\tindented"
		res := e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted",
			"evidence": map[string]any{"note": note}})
		ev := decode[struct {
			Evidence struct {
				Note string `json:"note"`
			} `json:"evidence"`
		}](t, res, http.StatusCreated)
		if ev.Evidence.Note != note {
			t.Errorf("note stored as %q, want %q", ev.Evidence.Note, note)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/persons/%d/activities", p.ID), map[string]any{"kind": "note", "subject": "Call", "body": note})
		if res.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(res.Body)
			t.Errorf("activity with line breaks: %d %s", res.StatusCode, b)
		}
		res.Body.Close()
	})
}

// TestCountryCodesAreNormalised: a country is an ISO 3166-1 alpha-2 code;
// lower case is accepted and stored in upper case.
func TestCountryCodesAreNormalised(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		org := decode[struct {
			Country string `json:"country"`
		}](t, e.do("POST", "/api/v1/organisations", map[string]any{"name": "Acme", "country": "dk"}), http.StatusCreated)
		if org.Country != "DK" {
			t.Errorf("organisation country %q, want DK", org.Country)
		}
		p := decode[struct {
			Address struct {
				Country string `json:"country"`
			} `json:"address"`
		}](t, e.do("POST", "/api/v1/persons", map[string]any{"last_name": "Berg", "address": map[string]any{"country": " de "}}), http.StatusCreated)
		if p.Address.Country != "DE" {
			t.Errorf("person country %q, want DE", p.Address.Country)
		}
		for _, bad := range []string{"Germany", "XX", "UK", "D"} {
			res := e.do("POST", "/api/v1/organisations", map[string]any{"name": "Beta", "country": bad})
			pr := decode[api.Problem](t, res, http.StatusUnprocessableEntity)
			if len(pr.Errors) != 1 || pr.Errors[0].Field != "country" {
				t.Errorf("country %q: %+v", bad, pr)
			}
		}
	})
}

// TestImportRefusesControlCharactersByLine: a CSV row with a NUL or a
// control character is refused with its line number; the other rows are
// imported.
func TestImportRefusesControlCharactersByLine(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		e.createPerson("Anna", "Berg", "anna@example.com")
		csv := "email,kind,subject,body\n" +
			"anna@example.com,call,Fine,All good\n" +
			"anna@example.com,call,Bad\x00subject,x\n" +
			"anna@example.com,call,Bell\x07,x\n" +
			"anna@example.com,call,\"Two\nlines\",x\n"
		res := e.do("POST", "/api/v1/activities/import", csv, "Content-Type", "text/csv")
		var rep struct {
			Imported int `json:"imported"`
			Rejected []struct {
				Line   int    `json:"line"`
				Reason string `json:"reason"`
			} `json:"rejected"`
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("import: %d %s", res.StatusCode, b)
		}
		if rep.Imported != 1 || len(rep.Rejected) != 3 {
			t.Fatalf("imported %d, rejected %+v; want 1 imported and lines 3, 4, 5 rejected", rep.Imported, rep.Rejected)
		}
		for i, want := range []int{3, 4, 5} {
			r := rep.Rejected[i]
			if r.Line != want || !strings.Contains(r.Reason, "subject") {
				t.Errorf("rejected %+v, want line %d naming subject", r, want)
			}
		}
	})
}
