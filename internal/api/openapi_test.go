package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/api"
	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/receipt"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// The tests in this file prove that openapi.json and the server agree:
// every registered route is documented, every documented operation is
// served, and real answers match the documented statuses, media types,
// headers and schemas.

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// publicPaths answer without a token.
var oaPublicPaths = map[string]bool{
	"/healthz": true, "/readyz": true, "/metrics": true, "/api/v1/openapi.json": true,
	"/.well-known/jwks.json": true, "/api/v1/receipts/jwks.json": true,
}

// oaIdempotentPOSTs accept an Idempotency-Key.
var oaIdempotentPOSTs = map[string]bool{
	"/api/v1/persons": true, "/api/v1/organisations": true, "/api/v1/consent-events": true, "/api/v1/purposes": true,
}

type oaSpec struct {
	raw  []byte
	doc  map[string]any
	seen map[string]map[int]bool // "METHOD /path" → statuses answered
}

type oaOp struct {
	method, path string // "GET", "/api/v1/persons/{id}"
	op           map[string]any
}

func (o oaOp) key() string { return o.method + " " + o.path }

func loadOpenAPI(t *testing.T) *oaSpec {
	t.Helper()
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return &oaSpec{raw: raw, doc: doc, seen: map[string]map[int]bool{}}
}

func (s *oaSpec) ops() []oaOp {
	var out []oaOp
	paths, _ := s.doc["paths"].(map[string]any)
	for p, item := range paths {
		m, _ := item.(map[string]any)
		for _, meth := range oaMethods {
			if op, ok := m[meth].(map[string]any); ok {
				out = append(out, oaOp{strings.ToUpper(meth), p, op})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

func (s *oaSpec) op(method, path string) (oaOp, bool) {
	item, _ := s.doc["paths"].(map[string]any)[path].(map[string]any)
	op, ok := item[strings.ToLower(method)].(map[string]any)
	return oaOp{method, path, op}, ok
}

// pointer resolves a local JSON pointer like #/components/schemas/Person.
func (s *oaSpec) pointer(ref string) (any, bool) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	var cur any = s.doc
	if frag == "" {
		return cur, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			if cur, ok = c[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// deref follows $ref until it reaches an object without one.
func (s *oaSpec) deref(v any) map[string]any {
	for range 20 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		r, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		if v, ok = s.pointer(r); !ok {
			return nil
		}
	}
	return nil
}

func (s *oaSpec) schema(name string) map[string]any {
	return s.deref(map[string]any{"$ref": "#/components/schemas/" + name})
}

// walk calls fn on every JSON object in v with its location.
func oaWalk(v any, at string, fn func(m map[string]any, at string)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x, at)
		for k, c := range x {
			oaWalk(c, at+"/"+k, fn)
		}
	case []any:
		for i, c := range x {
			oaWalk(c, at+"/"+strconv.Itoa(i), fn)
		}
	}
}

// --- a JSON Schema 2020-12 validator for the keywords the document uses ---

// validate checks val against schema. Object schemas listing properties
// are closed unless they say otherwise, so that a field the server sends
// but the document does not name is caught.
func (s *oaSpec) validate(schema, val any, at string, errs *[]string) {
	fail := func(f string, a ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(f, a...)) }
	switch sc := schema.(type) {
	case bool:
		if !sc {
			fail("no value is allowed here")
		}
		return
	case map[string]any:
		if r, ok := sc["$ref"].(string); ok {
			target, ok := s.pointer(r)
			if !ok {
				fail("unresolvable $ref %s", r)
				return
			}
			s.validate(target, val, at, errs)
		}
		if ty, ok := sc["type"]; ok {
			var tys []string
			switch t := ty.(type) {
			case string:
				tys = []string{t}
			case []any:
				for _, x := range t {
					tys = append(tys, x.(string))
				}
			}
			if !slices.ContainsFunc(tys, func(t string) bool { return oaIsType(val, t) }) {
				fail("%s is not of type %v", oaShort(val), tys)
				return
			}
		}
		if en, ok := sc["enum"].([]any); ok && !slices.ContainsFunc(en, func(x any) bool { return reflect.DeepEqual(x, val) }) {
			fail("%s is not one of %v", oaShort(val), en)
		}
		if c, ok := sc["const"]; ok && !reflect.DeepEqual(c, val) {
			fail("%s is not %v", oaShort(val), c)
		}
		if all, ok := sc["allOf"].([]any); ok {
			for _, sub := range all {
				s.validate(sub, val, at, errs)
			}
		}
		for _, kw := range []string{"anyOf", "oneOf"} {
			alts, ok := sc[kw].([]any)
			if !ok {
				continue
			}
			n := 0
			var first []string
			for _, sub := range alts {
				var e []string
				s.validate(sub, val, at, &e)
				if len(e) == 0 {
					n++
				} else if first == nil {
					first = e
				}
			}
			if n == 0 || (kw == "oneOf" && n > 1) {
				fail("%s matches %d of the %s alternatives (%v)", oaShort(val), n, kw, first)
			}
		}
		switch v := val.(type) {
		case map[string]any:
			props, _ := sc["properties"].(map[string]any)
			for _, r := range asStrings(sc["required"]) {
				if _, ok := v[r]; !ok {
					fail("required property %q is missing", r)
				}
			}
			if pn, ok := sc["propertyNames"]; ok {
				for k := range v {
					s.validate(pn, k, at+"/"+k+" (name)", errs)
				}
			}
			ap, hasAP := sc["additionalProperties"]
			for k, pv := range v {
				if ps, ok := props[k]; ok {
					s.validate(ps, pv, at+"/"+k, errs)
					continue
				}
				switch {
				case hasAP:
					s.validate(ap, pv, at+"/"+k, errs)
				case props != nil:
					fail("property %q is not documented", k)
				}
			}
		case []any:
			if items, ok := sc["items"]; ok {
				for i, x := range v {
					s.validate(items, x, at+"/"+strconv.Itoa(i), errs)
				}
			}
		case string:
			if p, ok := sc["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
				fail("%q does not match %s", v, p)
			}
			if sc["format"] == "date-time" {
				if _, err := time.Parse(time.RFC3339, v); err != nil {
					fail("%q is not an RFC 3339 date-time", v)
				}
			}
			if n, ok := sc["maxLength"].(float64); ok && float64(len([]rune(v))) > n {
				fail("%q is longer than %v", v, n)
			}
		case float64:
			if m, ok := sc["minimum"].(float64); ok && v < m {
				fail("%v is below %v", v, m)
			}
			if m, ok := sc["maximum"].(float64); ok && v > m {
				fail("%v is above %v", v, m)
			}
		}
	default:
		fail("schema is not an object or boolean")
	}
}

func asStrings(v any) []string {
	var out []string
	a, _ := v.([]any)
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func oaIsType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func oaShort(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// check verifies an answer of the operation method+path against the
// document: the status is documented, and so are the media type, the
// required headers and the body's schema. It returns the body.
func (s *oaSpec) check(t *testing.T, method, path string, res *http.Response) []byte {
	t.Helper()
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	o, ok := s.op(method, path)
	if !ok {
		t.Fatalf("%s %s is not documented", method, path)
	}
	if s.seen[o.key()] == nil {
		s.seen[o.key()] = map[int]bool{}
	}
	s.seen[o.key()][res.StatusCode] = true
	resp := s.deref(o.op["responses"].(map[string]any)[strconv.Itoa(res.StatusCode)])
	if resp == nil {
		t.Errorf("%s %s (%s): status %d is not documented: %s", method, path, res.Request.URL, res.StatusCode, oaShort(string(body)))
		return body
	}
	headers, _ := resp["headers"].(map[string]any)
	for name, h := range headers {
		hm := s.deref(h)
		if hm["required"] != true {
			continue
		}
		_, inTrailer := res.Trailer[http.CanonicalHeaderKey(name)]
		present := res.Header.Get(name) != "" || inTrailer
		if strings.EqualFold(name, "Trailer") { // Go's client moves the Trailer header into res.Trailer
			present = len(res.Trailer) > 0 || res.Header.Get(name) != ""
		}
		if !present {
			t.Errorf("%s %s: status %d lacks the documented header %s", method, path, res.StatusCode, name)
		}
	}
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		return body
	}
	mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s %s: status %d: Content-Type %q: %v", method, path, res.StatusCode, res.Header.Get("Content-Type"), err)
		return body
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		media, ok = content["*/*"].(map[string]any)
	}
	if !ok {
		t.Errorf("%s %s: status %d answered %s, documented are %v", method, path, res.StatusCode, mt, slices.Sorted(maps.Keys(content)))
		return body
	}
	var errs []string
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("%s %s: status %d: body is not JSON: %v", method, path, res.StatusCode, err)
			return body
		}
		s.validate(media["schema"], v, "body", &errs)
	case media["x-line-schema"] != nil:
		sc := bufio.NewScanner(bytes.NewReader(body))
		for n := 1; sc.Scan(); n++ {
			var v any
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				errs = append(errs, fmt.Sprintf("line %d is not JSON: %v", n, err))
				continue
			}
			s.validate(media["x-line-schema"], v, "line "+strconv.Itoa(n), &errs)
		}
	}
	for _, e := range errs {
		t.Errorf("%s %s: status %d answer does not match the document: %s", method, path, res.StatusCode, e)
	}
	return body
}

// oaPathParams lists the {names} in a path template.
func oaPathParams(path string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
		out = append(out, m[1])
	}
	return out
}

// oaJSONFields lists the JSON field names encoding/json uses for t.
func oaJSONFields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			out = append(out, oaJSONFields(f.Type)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	s := loadOpenAPI(t)
	if s.doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", s.doc["openapi"])
	}
	info, _ := s.doc["info"].(map[string]any)
	if info["title"] != "Consento API" || info["version"] != "1.0.0" {
		t.Errorf("info: title %v, version %v", info["title"], info["version"])
	}
	desc, _ := info["description"].(string)
	for _, want := range []string{"Bearer", "scope", "application/problem+json", "Idempotency-Key"} {
		if !strings.Contains(desc, want) {
			t.Errorf("info.description does not mention %s", want)
		}
	}
	bearer := s.deref(s.doc["components"].(map[string]any)["securitySchemes"].(map[string]any)["bearerAuth"])
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("bearerAuth scheme: %v", bearer)
	}

	// Every $ref resolves; no OpenAPI 3.0 leftovers.
	oaWalk(s.doc, "#", func(m map[string]any, at string) {
		if r, ok := m["$ref"]; ok {
			rs, _ := r.(string)
			if target, ok := s.pointer(rs); !ok || target == nil {
				t.Errorf("%s: $ref %v does not resolve", at, r)
			}
		}
		if _, ok := m["nullable"]; ok && strings.Contains(at, "/schema") {
			t.Errorf("%s: nullable is OpenAPI 3.0; use a type array with null", at)
		}
	})

	tags := map[string]bool{}
	for _, tg := range s.doc["tags"].([]any) {
		tags[tg.(map[string]any)["name"].(string)] = true
	}
	ids := map[string]string{}
	for _, o := range s.ops() {
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", o.key())
		} else if prev, dup := ids[id]; dup {
			t.Errorf("operationId %s is used by %s and %s", id, prev, o.key())
		}
		ids[id] = o.key()
		if o.op["summary"] == "" || o.op["summary"] == nil {
			t.Errorf("%s has no summary", o.key())
		}
		opTags := asStrings(o.op["tags"])
		if len(opTags) == 0 {
			t.Errorf("%s has no tags", o.key())
		}
		for _, tg := range opTags {
			if !tags[tg] {
				t.Errorf("%s: tag %s is not declared", o.key(), tg)
			}
		}
		responses, _ := o.op["responses"].(map[string]any)
		has2xx := false
		for code, r := range responses {
			if strings.HasPrefix(code, "2") {
				has2xx = true
			}
			if n, _ := strconv.Atoi(code); n >= 400 && n != 503 {
				if _, ok := s.deref(r)["content"].(map[string]any)["application/problem+json"]; !ok {
					t.Errorf("%s: response %s is not application/problem+json", o.key(), code)
				}
			}
		}
		if !has2xx {
			t.Errorf("%s documents no 2xx response", o.key())
		}

		// Security: public operations opt out; the others name their scope.
		sec, hasSec := o.op["security"].([]any)
		public := hasSec && len(sec) == 0
		if public != oaPublicPaths[o.path] {
			t.Errorf("%s: public = %v, want %v", o.key(), public, oaPublicPaths[o.path])
		}
		if !public {
			scope, _ := o.op["x-required-scope"].(string)
			if !slices.Contains(auth.Scopes, scope) {
				t.Errorf("%s: x-required-scope %q is not a token scope", o.key(), scope)
			}
			if d, _ := o.op["description"].(string); !strings.Contains(d, "`"+scope+"`") {
				t.Errorf("%s: the description does not name the scope %s", o.key(), scope)
			}
			for _, code := range []string{"401", "403"} {
				if responses[code] == nil {
					t.Errorf("%s does not document %s", o.key(), code)
				}
			}
		}

		// Parameters: path parameters match the template; the
		// Idempotency-Key is offered where the server honours it.
		var pathParams []string
		idem := false
		params, _ := o.op["parameters"].([]any)
		for _, p := range params {
			pm := s.deref(p)
			switch pm["in"] {
			case "path":
				pathParams = append(pathParams, pm["name"].(string))
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v is not required", o.key(), pm["name"])
				}
			case "header":
				idem = idem || pm["name"] == "Idempotency-Key"
			}
			if pm["schema"] == nil {
				t.Errorf("%s: parameter %v has no schema", o.key(), pm["name"])
			}
		}
		want := oaPathParams(o.path)
		sort.Strings(pathParams)
		sort.Strings(want)
		if !slices.Equal(pathParams, want) {
			t.Errorf("%s: path parameters %v, template has %v", o.key(), pathParams, want)
		}
		if wantIdem := o.method == "POST" && oaIdempotentPOSTs[o.path]; idem != wantIdem {
			t.Errorf("%s: Idempotency-Key documented = %v, want %v", o.key(), idem, wantIdem)
		}

		// JSON request bodies are closed: the server rejects unknown fields.
		if rb := s.deref(o.op["requestBody"]); rb != nil {
			if js, ok := rb["content"].(map[string]any)["application/json"].(map[string]any); ok {
				if sc := s.deref(js["schema"]); sc["additionalProperties"] != false {
					t.Errorf("%s: the request schema allows unknown fields, the server does not", o.key())
				}
			}
		}
	}

	// Component schemas name exactly the Go JSON fields.
	goTypes := map[string]any{
		"Problem": api.Problem{}, "FieldError": ledger.FieldError{}, "Actor": audit.Actor{},
		"Phone": ledger.Phone{}, "Address": ledger.Address{},
		"Person": ledger.Person{}, "PersonInput": ledger.PersonInput{}, "PersonPatch": ledger.PersonPatch{},
		"Organisation": ledger.Organisation{}, "OrganisationInput": ledger.OrganisationInput{},
		"File": ledger.File{}, "Evidence": ledger.Evidence{},
		"ConsentEventInput": struct {
			ledger.ConsentInput
			Email string `json:"email"`
		}{},
		"ConsentEvent": ledger.ConsentEvent{}, "ConsentState": ledger.ConsentState{},
		"Text": ledger.Text{}, "Purpose": ledger.Purpose{}, "PurposeInput": ledger.PurposeInput{}, "PurposeUpdate": ledger.PurposeUpdate{},
		"TextVersion": ledger.TextVersion{},
		"Source":      ledger.Source{}, "SourceInput": ledger.SourceInput{},
		"CustomField": ledger.CustomField{}, "CustomFieldInput": ledger.CustomField{},
		"Verdict":    ledger.Verdict{},
		"AuditEvent": audit.Event{}, "AuditPayload": audit.Payload{}, "AuditReport": audit.Report{},
		"ReceiptClaims": receipt.Claims{}, "PIIController": receipt.PIIController{},
		"PurposeClaim": receipt.PurposeClaim{}, "EventClaim": receipt.EventClaim{}, "JWK": receipt.JWK{},
	}
	for name, v := range goTypes {
		sc := s.schema(name)
		if sc == nil {
			t.Errorf("components.schemas.%s is missing", name)
			continue
		}
		props, _ := sc["properties"].(map[string]any)
		got := slices.Sorted(maps.Keys(props))
		if want := oaJSONFields(reflect.TypeOf(v)); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v, the Go type %T encodes %v", name, got, v, want)
		}
		for _, r := range asStrings(sc["required"]) {
			if props[r] == nil {
				t.Errorf("schema %s requires the undeclared property %s", name, r)
			}
		}
	}
}

// oaSample fills a path template with plausible values.
func oaSample(path string) string {
	key := "e_marketing"
	if strings.HasPrefix(path, "/api/v1/sources/") {
		key = "web_form"
	}
	return strings.NewReplacer("{id}", "1", "{person_id}", "1", "{purpose}", "e_marketing", "{key}", key, "{sha256}", strings.Repeat("0", 64)).Replace(path)
}

// oaCatchAll reports whether an answer came from the server's catch-all route.
func oaCatchAll(res *http.Response, body []byte) bool {
	var p api.Problem
	return res.StatusCode == http.StatusNotFound && json.Unmarshal(body, &p) == nil &&
		p.Type == api.ProblemBase+"not-found" && strings.HasPrefix(p.Detail, "there is no such endpoint")
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		s := loadOpenAPI(t)

		// The server serves this very document.
		res := e.doAs("", "GET", "/api/v1/openapi.json", nil)
		served := s.check(t, "GET", "/api/v1/openapi.json", res)
		if !bytes.Equal(served, s.raw) {
			t.Errorf("GET /api/v1/openapi.json does not serve internal/api/openapi.json")
		}

		// Every registered route is documented, and every documented
		// operation is a registered route.
		registered := map[string]bool{}
		for _, p := range e.api.Patterns() {
			method, path, ok := strings.Cut(p, " ")
			if !ok {
				t.Errorf("route %q has no method", p)
				continue
			}
			registered[p] = true
			if _, ok := s.op(method, path); !ok {
				t.Errorf("route %s is not documented in openapi.json", p)
			}
		}
		ops := s.ops()
		for _, o := range ops {
			if !registered[o.key()] {
				t.Errorf("%s is documented but the server registers no such route", o.key())
			}
		}
		if len(ops) != len(registered) {
			t.Errorf("%d documented operations, %d registered routes", len(ops), len(registered))
		}

		// Tokens holding every scope but one, and only one.
		without, only := map[string]string{}, map[string]string{}
		for _, sc := range auth.Scopes {
			only[sc] = e.tokenWith(sc)
			without[sc] = e.tokenWith(slices.DeleteFunc(slices.Clone(auth.Scopes), func(x string) bool { return x == sc })...)
		}

		for _, o := range ops {
			path := oaSample(o.path)
			if strings.Contains(path, "{") {
				t.Fatalf("%s: no sample value for %s", o.key(), path)
			}
			// A real request reaches the route, not the catch-all.
			res := e.do(o.method, path, nil)
			body := s.check(t, o.method, o.path, res)
			if oaCatchAll(res, body) {
				t.Errorf("%s %s was answered by the catch-all route: %s", o.method, path, body)
			}
			if res.StatusCode == http.StatusMethodNotAllowed {
				t.Errorf("%s %s: 405 Method Not Allowed", o.method, path)
			}

			// Without a token: 401 unless public.
			res = e.doAs("", o.method, path, nil)
			body = s.check(t, o.method, o.path, res)
			scope, _ := o.op["x-required-scope"].(string)
			if oaPublicPaths[o.path] {
				if res.StatusCode/100 != 2 {
					t.Errorf("public %s %s answered %d without a token: %s", o.method, path, res.StatusCode, body)
				}
				continue
			}
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s answered %d without a token, want 401", o.method, path, res.StatusCode)
			}
			res = e.doAs("Bearer-less-nonsense", o.method, path, nil)
			if s.check(t, o.method, o.path, res); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s answered %d with an unknown token, want 401", o.method, path, res.StatusCode)
			}

			// The documented scope is the one the server demands.
			res = e.doAs(without[scope], o.method, path, nil)
			body = s.check(t, o.method, o.path, res)
			var p api.Problem
			_ = json.Unmarshal(body, &p)
			if res.StatusCode != http.StatusForbidden || p.Type != api.ProblemBase+"insufficient-scope" {
				t.Errorf("%s %s with every scope but %s: %d %s, want 403 insufficient-scope", o.method, path, scope, res.StatusCode, p.Type)
			}
			res = e.doAs(only[scope], o.method, path, nil)
			s.check(t, o.method, o.path, res)
			if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
				t.Errorf("%s %s with only the scope %s: %d", o.method, path, scope, res.StatusCode)
			}
		}
	})
}

// TestOpenAPIDescribesRealAnswers drives every operation to success (and
// its main failures) and checks each answer against the document.
func TestOpenAPIDescribesRealAnswers(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		s := loadOpenAPI(t)
		call := func(want int, method, tmpl, path string, body any, headers ...string) []byte {
			t.Helper()
			res := e.do(method, path, body, headers...)
			b := s.check(t, method, tmpl, res)
			if res.StatusCode != want {
				t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, b)
			}
			return b
		}
		id := func(b []byte) int64 {
			t.Helper()
			var v struct {
				ID int64 `json:"id"`
			}
			if err := json.Unmarshal(b, &v); err != nil || v.ID == 0 {
				t.Fatalf("no id in %s", b)
			}
			return v.ID
		}
		setStatus := func(person int64, status string) {
			t.Helper()
			if err := e.db.Write(context.Background(), func(tx *store.Tx) error {
				_, err := tx.Exec(`UPDATE persons SET status = ? WHERE id = ?`, status, person)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}

		// Operations.
		for _, p := range []string{"/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/.well-known/jwks.json", "/api/v1/receipts/jwks.json"} {
			res := e.doAs("", "GET", p, nil)
			if s.check(t, "GET", p, res); res.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %d", p, res.StatusCode)
			}
		}

		// Organisations.
		const orgs = "/api/v1/organisations"
		acme := map[string]any{"name": "Acme GmbH", "reg_number": "HRB 1", "country": "DE"}
		org := id(call(201, "POST", orgs, orgs, acme, "Idempotency-Key", "org-1"))
		call(200, "POST", orgs, orgs, acme, "Idempotency-Key", "org-1")
		call(422, "POST", orgs, orgs, map[string]any{"name": "Other"}, "Idempotency-Key", "org-1")
		call(400, "POST", orgs, orgs, acme, "Idempotency-Key", strings.Repeat("k", 256))
		call(422, "POST", orgs, orgs, map[string]any{"name": " "})
		call(200, "GET", orgs, orgs+"?q=ac&limit=10", nil)
		orgPath := fmt.Sprintf("%s/%d", orgs, org)
		call(200, "GET", orgs+"/{id}", orgPath, nil)
		call(200, "PUT", orgs+"/{id}", orgPath, map[string]any{"name": "Acme AG", "reg_number": "HRB 1", "country": "DE"})
		call(404, "PUT", orgs+"/{id}", orgs+"/999999", map[string]any{"name": "Nobody"})
		call(404, "GET", orgs+"/{id}", orgs+"/abc", nil)

		// Configuration.
		call(201, "POST", "/api/v1/custom-fields", "/api/v1/custom-fields", map[string]any{"key": "tier", "label": "Tier", "type": "select", "options": []string{"gold", "silver"}, "sensitive": false})
		call(409, "POST", "/api/v1/custom-fields", "/api/v1/custom-fields", map[string]any{"key": "tier", "label": "Tier", "type": "text"})
		call(422, "POST", "/api/v1/custom-fields", "/api/v1/custom-fields", map[string]any{"key": "X", "label": "", "type": "colour"})
		call(200, "GET", "/api/v1/custom-fields", "/api/v1/custom-fields", nil)
		call(201, "POST", "/api/v1/sources", "/api/v1/sources", map[string]any{"key": "fair_2026", "name": "Fair 2026"})
		call(409, "POST", "/api/v1/sources", "/api/v1/sources", map[string]any{"key": "fair_2026", "name": "Fair"})
		call(422, "POST", "/api/v1/sources", "/api/v1/sources", map[string]any{"key": "", "name": ""})
		call(200, "PATCH", "/api/v1/sources/{key}", "/api/v1/sources/fair_2026", map[string]any{"name": "Fair 2026 Berlin", "active": true})
		call(404, "PATCH", "/api/v1/sources/{key}", "/api/v1/sources/nope", map[string]any{"name": "x"})
		call(200, "GET", "/api/v1/sources", "/api/v1/sources", nil)
		call(200, "GET", "/api/v1/legal-bases", "/api/v1/legal-bases", nil)
		texts := map[string]any{
			"en": map[string]any{"name": "Phone marketing", "description": "Calls with offers.", "consent_text": "Yes, call me."},
			"de": map[string]any{"name": "Telefonmarketing", "description": "Anrufe mit Angeboten.", "consent_text": "Ja, ruft mich an."},
			"da": map[string]any{"name": "Telefonmarketing", "description": "Opkald med tilbud.", "consent_text": "Ja, ring til mig."},
		}
		purpose := map[string]any{"key": "phone_marketing", "default_legal_basis": "consent", "allowed_legal_bases": []string{"consent"},
			"consent_required": true, "dpv_purpose": "https://w3id.org/dpv#DirectMarketing", "retention_days": 365, "balancing_test": "", "texts": texts}
		const purposes = "/api/v1/purposes"
		call(201, "POST", purposes, purposes, purpose, "Idempotency-Key", "purpose-1")
		call(200, "POST", purposes, purposes, purpose, "Idempotency-Key", "purpose-1")
		call(409, "POST", purposes, purposes, purpose)
		call(422, "POST", purposes, purposes, map[string]any{"key": "x"})
		call(200, "PATCH", purposes+"/{key}", purposes+"/phone_marketing", map[string]any{"texts": map[string]any{
			"en": map[string]any{"name": "Phone marketing", "description": "Calls with offers.", "consent_text": "Yes, you may call me."}}, "reason": "reworded"})
		call(422, "PATCH", purposes+"/{key}", purposes+"/phone_marketing", map[string]any{"default_legal_basis": "contract"})
		call(404, "PATCH", purposes+"/{key}", purposes+"/nope", map[string]any{"archived": true})
		call(200, "GET", purposes, purposes+"?archived=true", nil)
		call(200, "GET", purposes+"/{key}", purposes+"/phone_marketing", nil)
		call(404, "GET", purposes+"/{key}", purposes+"/nope", nil)
		call(200, "GET", purposes+"/{key}/versions", purposes+"/phone_marketing/versions", nil)
		call(404, "GET", purposes+"/{key}/versions", purposes+"/nope/versions", nil)

		// Persons.
		const persons = "/api/v1/persons"
		annaIn := map[string]any{"first_name": "Anna", "last_name": "Berg", "emails": []string{"anna@example.com"},
			"phones": []map[string]any{{"kind": "mobile", "number": "+49 170 1234567"}}, "address": map[string]any{"street": "Hauptstr. 1", "postal_code": "10115", "city": "Berlin", "country": "DE"},
			"organisation_id": org, "language": "de", "custom": map[string]any{"tier": "gold"}, "source": "fair_2026", "reason": "met at the fair"}
		anna := id(call(201, "POST", persons, persons, annaIn, "Idempotency-Key", "person-1"))
		call(200, "POST", persons, persons, annaIn, "Idempotency-Key", "person-1")
		bob := id(call(201, "POST", persons, persons, map[string]any{"emails": []string{"bob@example.com"}}))
		call(409, "POST", persons, persons, map[string]any{"last_name": "Copy", "emails": []string{"anna@example.com"}})
		call(422, "POST", persons, persons, map[string]any{"emails": []string{"not-an-address"}})
		call(400, "POST", persons, persons, map[string]any{"nickname": "x"})
		call(400, "POST", persons, persons, "{")
		call(415, "POST", persons, persons, `{"last_name":"X"}`, "Content-Type", "text/plain")
		call(413, "POST", persons, persons, `{"last_name":"`+strings.Repeat("x", 1<<20)+`"}`)
		call(200, "POST", persons+"/find-by-email", persons+"/find-by-email", map[string]any{"email": "ANNA@example.com"})
		call(404, "POST", persons+"/find-by-email", persons+"/find-by-email", map[string]any{"email": "nobody@example.com"})
		call(422, "POST", persons+"/find-by-email", persons+"/find-by-email", map[string]any{"email": "nope"})
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal(call(200, "GET", persons, persons+"?limit=1", nil), &page)
		if page.NextCursor == "" {
			t.Fatal("no next_cursor on a full page")
		}
		call(200, "GET", persons, persons+"?limit=1&cursor="+page.NextCursor, nil)
		call(200, "GET", persons, fmt.Sprintf("%s?q=an&status=active&source=fair_2026&traffic_light=red&organisation_id=%d&purpose=e_marketing&purpose_state=none", persons, org), nil)
		call(422, "GET", persons, persons+"?limit=x&organisation_id=y", nil)
		call(422, "GET", persons, persons+"?traffic_light=blue", nil)
		annaPath := fmt.Sprintf("%s/%d", persons, anna)
		call(200, "GET", persons+"/{id}", annaPath, nil)
		call(404, "GET", persons+"/{id}", persons+"/999999", nil)
		call(200, "PATCH", persons+"/{id}", annaPath, map[string]any{"first_name": "Anne", "address": nil, "custom": map[string]any{"tier": nil}, "organisation_id": 0, "reason": "typo"})
		call(409, "PATCH", persons+"/{id}", annaPath, map[string]any{"emails": []string{"bob@example.com"}})
		call(422, "PATCH", persons+"/{id}", annaPath, map[string]any{"language": "fr"})

		// Consents.
		const events = "/api/v1/consent-events"
		grant := map[string]any{"person_id": anna, "purpose": "e_marketing", "kind": "granted", "source": "web_form", "language": "de", "text_version": 1,
			"valid_until": time.Now().Add(365 * 24 * time.Hour).UTC(), "reason": "signed up",
			"evidence": map[string]any{"note": "newsletter form", "form_url": "https://example.com/signup", "form": map[string]string{"newsletter": "on"},
				"ip": "192.0.2.7", "user_agent": "Firefox", "files": []map[string]any{{"name": "signup.eml", "media_type": "message/rfc822", "content": []byte("From: anna@example.com\r\n\r\nyes")}}}}
		evb := call(201, "POST", events, events, grant, "Idempotency-Key", "event-1")
		call(200, "POST", events, events, grant, "Idempotency-Key", "event-1")
		var ev ledger.ConsentEvent
		if err := json.Unmarshal(evb, &ev); err != nil || len(ev.Evidence.Files) != 1 {
			t.Fatalf("consent event %s", evb)
		}
		call(201, "POST", events, events, map[string]any{"email": "bob@example.com", "purpose": "e_marketing", "kind": "refused"})
		call(404, "POST", events, events, map[string]any{"email": "nobody@example.com", "purpose": "e_marketing", "kind": "granted"})
		call(422, "POST", events, events, map[string]any{"person_id": anna, "purpose": "e_marketing", "kind": "maybe"})
		evPath := fmt.Sprintf("%s/%d", events, ev.ID)
		call(200, "GET", events+"/{id}", evPath, nil)
		call(404, "GET", events+"/{id}", events+"/999999", nil)
		call(200, "GET", events+"/{id}/receipt", evPath+"/receipt", nil)
		call(404, "GET", events+"/{id}/receipt", events+"/999999/receipt", nil)
		call(200, "GET", "/api/v1/evidence/{sha256}", "/api/v1/evidence/"+ev.Evidence.Files[0].SHA256, nil)
		call(404, "GET", "/api/v1/evidence/{sha256}", "/api/v1/evidence/"+strings.Repeat("0", 64), nil)
		call(200, "GET", persons+"/{id}/consents", annaPath+"/consents", nil)
		call(404, "GET", persons+"/{id}/consents", persons+"/999999/consents", nil)
		call(200, "GET", persons+"/{id}/consents/{purpose}", annaPath+"/consents/e_marketing", nil)
		call(200, "GET", persons+"/{id}/consents/{purpose}", annaPath+"/consents/phone_marketing", nil)
		call(404, "GET", persons+"/{id}/consents/{purpose}", annaPath+"/consents/nope", nil)
		call(200, "GET", persons+"/{id}/consent-events", annaPath+"/consent-events?purpose=e_marketing", nil)
		call(404, "GET", persons+"/{id}/consent-events", annaPath+"/consent-events?purpose=nope", nil)

		// Bulk check, both formats, with the totals in trailers.
		const checks = "/api/v1/consent-checks"
		ndjson := fmt.Sprintf("\"anna@example.com\"\n%d\n{\"email\":\"x@example.com\"}\n\"not an address\"\n", bob)
		res := e.do("POST", checks+"?purpose=e_marketing", ndjson, "Content-Type", "application/x-ndjson")
		out := s.check(t, "POST", checks, res)
		if res.StatusCode != 200 || res.Trailer.Get("Consento-Total") != "4" || res.Trailer.Get("Consento-Allowed") != "1" || res.Trailer.Get("Consento-Denied") != "3" {
			t.Errorf("ndjson check: %d, trailers %v: %s", res.StatusCode, res.Trailer, out)
		}
		res = e.do("POST", checks+"?purpose=e_marketing", fmt.Sprintf("email\nanna@example.com\n%d\n", bob), "Content-Type", "text/csv", "Accept", "text/csv")
		out = s.check(t, "POST", checks, res)
		if res.StatusCode != 200 || !strings.HasPrefix(string(out), "ref,person_id,allowed,reason\n") || res.Trailer.Get("Consento-Total") != "2" {
			t.Errorf("csv check: %d, trailers %v: %s", res.StatusCode, res.Trailer, out)
		}
		call(422, "POST", checks, checks, "1\n", "Content-Type", "application/x-ndjson")
		call(404, "POST", checks, checks+"?purpose=nope", "1\n", "Content-Type", "application/x-ndjson")
		call(415, "POST", checks, checks+"?purpose=e_marketing", "1\n", "Content-Type", "application/json")
		call(400, "POST", checks, checks+"?purpose=e_marketing", "[1]\n", "Content-Type", "application/x-ndjson")

		// Restricted (Art. 18) and anonymized persons.
		cleo := id(call(201, "POST", persons, persons, map[string]any{"last_name": "Cleo"}))
		setStatus(cleo, "restricted")
		call(423, "PATCH", persons+"/{id}", fmt.Sprintf("%s/%d", persons, cleo), map[string]any{"first_name": "C"})
		call(423, "POST", events, events, map[string]any{"person_id": cleo, "purpose": "e_marketing", "kind": "granted"})
		dan := id(call(201, "POST", persons, persons, map[string]any{"last_name": "Dan"}))
		setStatus(dan, "anonymized")
		call(410, "PATCH", persons+"/{id}", fmt.Sprintf("%s/%d", persons, dan), map[string]any{"first_name": "D"})
		call(410, "POST", events, events, map[string]any{"person_id": dan, "purpose": "e_marketing", "kind": "granted"})

		// Audit.
		const auditEvents = "/api/v1/audit-events"
		var ap struct {
			NextBefore int64 `json:"next_before"`
		}
		_ = json.Unmarshal(call(200, "GET", auditEvents, fmt.Sprintf("%s?person_id=%d&limit=1", auditEvents, anna), nil), &ap)
		if ap.NextBefore == 0 {
			t.Error("no next_before on a full audit page")
		}
		since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		call(200, "GET", auditEvents, fmt.Sprintf("%s?object_type=purpose&object_id=3&action=purpose.create&actor_id=1&since=%s&until=%s&before=%d", auditEvents, since, until, ap.NextBefore), nil)
		call(422, "GET", auditEvents, auditEvents+"?limit=-1&since=yesterday", nil)
		call(200, "POST", auditEvents+"/verify", auditEvents+"/verify", nil)

		oaRightsAnswers(t, e, call)
		oaRecipientAnswers(t, e, call)
		oaBreachAnswers(t, e, call)
		oaWebhookAnswers(t, e, call)
		oaSensitiveAnswers(t, e, call)
		oaRetentionAnswers(t, e, call)

		// Every documented success answer was seen.
		for _, o := range s.ops() {
			for code := range o.op["responses"].(map[string]any) {
				if n, _ := strconv.Atoi(code); n/100 == 2 && !s.seen[o.key()][n] {
					t.Errorf("%s: the documented %d answer was never produced", o.key(), n)
				}
			}
		}
	})
}
