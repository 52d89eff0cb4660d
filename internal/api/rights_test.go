package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/storetest"
)

// oaRightsAnswers drives every linked-record and rights operation to its
// documented success answers (called from TestOpenAPIDescribesRealAnswers).
func oaRightsAnswers(t *testing.T, e *env, call func(int, string, string, string, any, ...string) []byte) {
	t.Helper()
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
	const persons = "/api/v1/persons"
	pid := id(call(201, "POST", persons, persons, map[string]any{"first_name": "Rita", "last_name": "Rights", "emails": []string{"rita@example.com"}}))
	other := id(call(201, "POST", persons, persons, map[string]any{"last_name": "Other"}))
	pp := fmt.Sprintf("%s/%d", persons, pid)
	for _, x := range []struct {
		sub       string
		body, bad any
	}{
		{"activities", map[string]any{"kind": "call", "subject": "Called", "occurred_at": "2026-03-02T10:00:00Z"}, map[string]any{"kind": "fax"}},
		{"documents", map[string]any{"filename": "a.txt", "media_type": "text/plain", "content": "aGVsbG8="}, map[string]any{"filename": "../a.txt", "content": "aGVsbG8="}},
		{"relationships", map[string]any{"other_id": other, "kind": "colleague"}, map[string]any{"other_id": pid, "kind": "colleague"}},
		{"business-records", map[string]any{"kind": "invoice", "number": "R-1", "issued_on": "2026-03-01", "amount_cents": 1000, "currency": "EUR"},
			map[string]any{"kind": "invoice", "number": "R-1", "issued_on": "1.3.2026", "amount_cents": 1000, "currency": "EUR"}},
	} {
		tmpl := persons + "/{id}/" + x.sub
		call(201, "POST", tmpl, pp+"/"+x.sub, x.body)
		call(200, "GET", tmpl, pp+"/"+x.sub, nil)
		call(422, "POST", tmpl, pp+"/"+x.sub, x.bad)
	}
	call(400, "POST", persons+"/{id}/activities", pp+"/activities", map[string]any{"kind": "call", "colour": "red"})
	call(404, "GET", persons+"/{id}/activities", persons+"/999999/activities", nil)
	var docs struct{ Items []records.Document }
	_ = json.Unmarshal(call(200, "GET", persons+"/{id}/documents", pp+"/documents", nil), &docs)
	if b := call(200, "GET", "/api/v1/documents/{id}/content", fmt.Sprintf("/api/v1/documents/%d/content", docs.Items[0].ID), nil); string(b) != "hello" {
		t.Errorf("document content %q", b)
	}
	for _, path := range []string{"/api/v1/activities/import", "/api/v1/business-records/import"} {
		csv := "email,kind,occurred_at,subject\nrita@example.com,note,2026-01-02,Met at the fair\n"
		if strings.Contains(path, "business") {
			csv = "person_id,kind,number,issued_on,amount,currency\n" + fmt.Sprint(pid) + ",order,O-1,2026-01-02,5.00,EUR\n"
		}
		var rep records.ImportReport
		_ = json.Unmarshal(call(200, "POST", path, path, csv, "Content-Type", "text/csv"), &rep)
		if rep.Imported != 1 {
			t.Errorf("%s: %+v", path, rep)
		}
		call(415, "POST", path, path, csv, "Content-Type", "application/json")
	}

	const reqs = "/api/v1/rights-requests"
	open := func(typ string) (int64, string) {
		r := id(call(201, "POST", reqs, reqs, map[string]any{"person_id": pid, "type": typ, "country": "DE"}))
		return r, fmt.Sprintf("%s/%d", reqs, r)
	}
	acc, accP := open("access")
	call(409, "GET", reqs+"/{id}/report", accP+"/report", nil)
	call(200, "POST", reqs+"/{id}/verify", accP+"/verify", map[string]any{"method": "ID card"})
	call(200, "POST", reqs+"/{id}/assign", accP+"/assign", map[string]any{"assignee_id": 0})
	call(200, "POST", reqs+"/{id}/notes", accP+"/notes", map[string]any{"body": "internal"})
	call(200, "POST", reqs+"/{id}/extend", accP+"/extend", map[string]any{"reason": "many systems to search"})
	call(200, "POST", reqs+"/{id}/calendar", accP+"/calendar", map[string]any{"country": "de", "region": "de-by"})
	call(422, "POST", reqs+"/{id}/calendar", accP+"/calendar", map[string]any{"country": "DE", "region": "DE-XX"})
	for _, f := range []string{"json", "html", "pdf", "xlsx"} {
		call(200, "GET", reqs+"/{id}/report", accP+"/report?format="+f, nil)
	}
	call(422, "GET", reqs+"/{id}/report", accP+"/report?format=doc", nil)
	oaReportEmailAnswers(t, call, pid, accP)
	call(200, "POST", reqs+"/{id}/start", accP+"/start", nil)
	call(200, "POST", reqs+"/{id}/complete", accP+"/complete", map[string]any{"outcome": "sent"})
	call(200, "GET", reqs+"/{id}", accP, nil)
	call(200, "GET", reqs, reqs+"?state=all&type=access&person_id="+fmt.Sprint(pid), nil)
	call(422, "GET", reqs, reqs+"?state=sometimes", nil)
	_ = acc

	_, linkP := open("rectification")
	call(200, "POST", reqs+"/{id}/link", linkP+"/link", map[string]any{"person_id": other})
	call(200, "POST", reqs+"/{id}/reject", linkP+"/reject", map[string]any{"reason": "not the person"})

	_, portP := open("portability")
	call(200, "POST", reqs+"/{id}/verify", portP+"/verify", map[string]any{"method": "known address"})
	call(200, "GET", reqs+"/{id}/portability", portP+"/portability", nil)
	call(200, "GET", reqs+"/{id}/portability", portP+"/portability?format=csv", nil)

	objP := fmt.Sprintf("%s/%d", reqs, id(call(201, "POST", reqs, reqs, map[string]any{"person_id": pid, "type": "objection", "purpose": "sales_service"})))
	call(200, "POST", reqs+"/{id}/verify", objP+"/verify", map[string]any{"method": "known address"})
	call(200, "POST", reqs+"/{id}/objection", objP+"/objection", nil)

	_, resP := open("restriction")
	call(200, "POST", reqs+"/{id}/verify", resP+"/verify", map[string]any{"method": "known address"})
	call(200, "POST", reqs+"/{id}/restriction", resP+"/restriction", map[string]any{"reason": "accuracy contested"})
	call(423, "PATCH", persons+"/{id}", pp, map[string]any{"first_name": "R"})
	call(423, "POST", persons+"/{id}/activities", pp+"/activities", map[string]any{"kind": "call", "subject": "x"})
	_, eraP := open("erasure")
	call(200, "POST", reqs+"/{id}/verify", eraP+"/verify", map[string]any{"method": "known address"})
	call(423, "GET", reqs+"/{id}/erasure-preview", eraP+"/erasure-preview?level=3", nil)
	call(200, "POST", persons+"/{id}/restriction/lift", pp+"/restriction/lift", map[string]any{"reason": "accuracy confirmed"})
	call(200, "GET", reqs+"/{id}/erasure-preview", eraP+"/erasure-preview?level=3", nil)
	call(422, "GET", reqs+"/{id}/erasure-preview", eraP+"/erasure-preview?level=4", nil)
	call(200, "POST", reqs+"/{id}/erasure", eraP+"/erasure", map[string]any{"level": 3})
	call(410, "POST", reqs+"/{id}/erasure", eraP+"/erasure", map[string]any{"level": 3})
	call(409, "POST", persons, persons, map[string]any{"last_name": "Again", "emails": []string{"RITA@example.com"}})

	call(200, "PUT", "/api/v1/holidays", "/api/v1/holidays", map[string]any{"country": "de", "holidays": []map[string]string{{"day": "2026-12-25", "name": "Weihnachten"}}})
	call(200, "GET", "/api/v1/holidays", "/api/v1/holidays?country=DE", nil)
	call(200, "GET", "/api/v1/holidays", "/api/v1/holidays?country=DE&region=DE-BY&year=2027", nil)
	call(200, "PUT", "/api/v1/holidays", "/api/v1/holidays", map[string]any{"country": "DE", "region": "DE-BY", "holidays": []map[string]any{{"day": "2026-06-04", "working": true}}})
	call(422, "GET", "/api/v1/holidays", "/api/v1/holidays?country=DE&region=FR-75", nil)
	call(422, "PUT", "/api/v1/holidays", "/api/v1/holidays", map[string]any{"country": "DEU", "holidays": []any{}})
	call(200, "PUT", "/api/v1/report-sections", "/api/v1/report-sections", map[string]any{"sections": []string{"person", "consents"}})
	call(200, "GET", "/api/v1/report-sections", "/api/v1/report-sections", nil)
	call(422, "PUT", "/api/v1/report-sections", "/api/v1/report-sections", map[string]any{"sections": []string{"notes"}})
}

// The schemas of linked records and rights name exactly the Go JSON fields.
func TestOpenAPIRightsSchemasMatchGoTypes(t *testing.T) {
	s := loadOpenAPI(t)
	for name, v := range map[string]any{
		"Activity": records.Activity{}, "ActivityInput": records.ActivityInput{}, "Document": records.Document{}, "DocumentInput": records.DocumentInput{},
		"Relationship": records.Relationship{}, "RelationshipInput": records.RelationshipInput{}, "BusinessRecord": records.BusinessRecord{},
		"BusinessRecordInput": records.BusinessRecordInput{}, "RecordImportReport": records.ImportReport{},
		"RightsRequest": rights.Request{}, "RequestNote": rights.Note{}, "RightsRequestInput": rights.RequestInput{},
		"ErasurePlan": rights.ErasurePlan{}, "ErasureChange": rights.Change{}, "ErasureResult": rights.ErasureResult{},
		"AccessReport": rights.Report{}, "PortableData": rights.Portable{},
	} {
		sc := s.schema(name)
		if sc == nil {
			t.Errorf("components.schemas.%s is missing", name)
			continue
		}
		props, _ := sc["properties"].(map[string]any)
		if got, want := slices.Sorted(maps.Keys(props)), oaJSONFields(reflect.TypeOf(v)); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v, the Go type %T encodes %v", name, got, v, want)
		}
	}
}

// A person restricted through a case is frozen for every API write, and
// the marketing-facing check blocks them.
func TestRightsAPIRestrictedPersonAnswers423(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		p, err := e.ledger.CreatePerson(context.Background(), ledger.Actor{Type: "user", ID: "1"}, ledger.PersonInput{LastName: "Frozen", Emails: []string{"frozen@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		r := decode[rights.Request](t, e.do("POST", "/api/v1/rights-requests", map[string]any{"requester_email": "frozen@example.com", "type": "restriction"}), http.StatusCreated)
		if r.PersonID == nil || *r.PersonID != p.ID || r.Channel != "api" {
			t.Fatalf("case: %+v", r)
		}
		res := e.do("POST", fmt.Sprintf("/api/v1/rights-requests/%d/restriction", r.ID), map[string]any{"reason": "x"})
		if res.StatusCode != http.StatusConflict {
			t.Fatalf("restriction before verification: %d", res.StatusCode)
		}
		decode[rights.Request](t, e.do("POST", fmt.Sprintf("/api/v1/rights-requests/%d/verify", r.ID), map[string]any{"method": "reply from the stored address"}), 200)
		decode[rights.Request](t, e.do("POST", fmt.Sprintf("/api/v1/rights-requests/%d/restriction", r.ID), map[string]any{"reason": "accuracy contested"}), 200)
		res = e.do("POST", "/api/v1/consent-events", map[string]any{"person_id": p.ID, "purpose": "e_marketing", "kind": "granted"})
		var pr struct{ Type, Detail string }
		_ = json.NewDecoder(res.Body).Decode(&pr)
		res.Body.Close()
		if res.StatusCode != http.StatusLocked || !strings.HasSuffix(pr.Type, "/person-restricted") || !strings.Contains(pr.Detail, "Art. 18") {
			t.Fatalf("consent on a restricted person: %d %+v", res.StatusCode, pr)
		}
		tok := e.tokenWith("persons:read")
		res = e.doAs(tok, "GET", "/api/v1/rights-requests", nil)
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("rights cases with persons:read only: %d", res.StatusCode)
		}
	})
}
