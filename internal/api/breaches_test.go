package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/breach"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/storetest"
)

// oaBreachAnswers drives the breach register to its documented answers
// (called from TestOpenAPIDescribesRealAnswers).
func oaBreachAnswers(t *testing.T, e *env, call func(int, string, string, string, any, ...string) []byte) {
	t.Helper()
	const base = "/api/v1/breaches"
	aware := time.Now().UTC().Add(-80 * time.Hour).Truncate(time.Second)
	in := map[string]any{"title": "Stolen backup tape", "description": "A backup tape with customer data went missing in transit.",
		"occurred_at": nil, "aware_at": aware, "detected_by": "Logistics", "data_categories": []string{"contact", "financial"},
		"subject_categories": []string{"customers"}, "approx_persons": 500, "approx_records": 800, "consequences": "Fraud attempts are possible.",
		"measures": "The courier is searching; watch your bank statements.", "risk": "high", "dpo_contact": "dpo@example.com"}
	var b breach.Breach
	if err := json.Unmarshal(call(201, "POST", base, base, in), &b); err != nil || b.ID == 0 || b.AuthorityState != "overdue" || b.SecondsLeft > -8*3600 {
		t.Fatalf("created %+v %v", b, err)
	}
	call(422, "POST", base, base, map[string]any{"title": "No awareness", "description": "x"})
	call(400, "POST", base, base, map[string]any{"title": "x", "colour": "red"})
	bp := fmt.Sprintf("%s/%d", base, b.ID)
	call(200, "GET", base+"/{id}", bp, nil)
	call(404, "GET", base+"/{id}", base+"/999999", nil)
	call(200, "GET", base, base+"?status=open", nil)
	call(422, "GET", base, base+"?status=maybe", nil)
	in["title"] = "Lost backup tape"
	call(200, "PUT", base+"/{id}", bp, in)
	call(422, "PUT", base+"/{id}", bp, map[string]any{"title": "", "description": "x", "aware_at": aware})
	call(404, "PUT", base+"/{id}", base+"/999999", in)

	const persons = "/api/v1/persons"
	var p struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(call(201, "POST", persons, persons, map[string]any{"first_name": "Bea", "last_name": "Breached", "emails": []string{"bea@example.com"}, "language": "de"}), &p)
	var lr breach.LinkResult
	_ = json.Unmarshal(call(200, "POST", base+"/{id}/persons", bp+"/persons", map[string]any{"emails": []string{"BEA@example.com", "ghost@example.com", "x"}}), &lr)
	if lr.Added != 1 || lr.Unmatched != 1 || lr.Invalid != 1 {
		t.Errorf("link: %+v", lr)
	}
	call(422, "POST", base+"/{id}/persons", bp+"/persons", map[string]any{})
	call(404, "POST", base+"/{id}/persons", base+"/999999/persons", map[string]any{"person_ids": []int64{p.ID}})
	call(200, "GET", base+"/{id}/persons", bp+"/persons", nil)
	// Removing a person linked by mistake.
	var wrong struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(call(201, "POST", persons, persons, map[string]any{"first_name": "Will", "last_name": "Wrong", "emails": []string{"will@example.com"}}), &wrong)
	call(200, "POST", base+"/{id}/persons", bp+"/persons", map[string]any{"person_ids": []int64{wrong.ID}})
	const unlink = base + "/{id}/persons/{person_id}/unlink"
	wu := bp + "/persons/" + strconv.FormatInt(wrong.ID, 10) + "/unlink"
	call(422, "POST", unlink, wu, map[string]any{"reason": ""})
	call(200, "POST", unlink, wu, map[string]any{"reason": "another Will"})
	call(404, "POST", unlink, wu, map[string]any{"reason": "again"})
	call(404, "GET", base+"/{id}/persons", base+"/999999/persons", nil)

	call(422, "POST", base+"/{id}/authority-notification", bp+"/authority-notification", map[string]any{"authority": "BfDI"})
	call(409, "POST", base+"/{id}/authority-notification", bp+"/authority-notification", map[string]any{"decision": "not_notified", "reason": "nothing to see here"})
	call(200, "POST", base+"/{id}/authority-notification", bp+"/authority-notification", map[string]any{"authority": "BfDI", "reference": "2026-0042",
		"late_reason": "The tape was only missed at the monthly inventory."})
	call(409, "POST", base+"/{id}/authority-notification", bp+"/authority-notification", map[string]any{"authority": "BfDI"})
	call(404, "POST", base+"/{id}/authority-notification", base+"/999999/authority-notification", map[string]any{"authority": "BfDI"})

	var pre breach.NoticeReport
	_ = json.Unmarshal(call(200, "GET", base+"/{id}/notice-preview", bp+"/notice-preview", nil), &pre)
	if pre.Mailable != 1 || pre.Mailed != 0 {
		t.Errorf("preview %+v", pre)
	}
	call(404, "GET", base+"/{id}/notice-preview", base+"/999999/notice-preview", nil)
	call(200, "POST", base+"/{id}/notify-persons", bp+"/notify-persons", nil)
	call(409, "POST", base+"/{id}/notify-persons", bp+"/notify-persons", nil)
	call(409, "POST", unlink, bp+"/persons/"+strconv.FormatInt(p.ID, 10)+"/unlink", map[string]any{"reason": "after the notice"})
	call(404, "POST", base+"/{id}/notify-persons", base+"/999999/notify-persons", nil)
	bare := map[string]any{"title": "Bare", "description": "A short note.", "aware_at": aware}
	var b2 breach.Breach
	_ = json.Unmarshal(call(201, "POST", base, base, bare), &b2)
	call(422, "POST", base+"/{id}/notify-persons", fmt.Sprintf("%s/%d/notify-persons", base, b2.ID), nil)

	call(201, "POST", base+"/{id}/entries", bp+"/entries", map[string]any{"kind": "followup", "body": "Sent the courier's report to the authority."})
	call(422, "POST", base+"/{id}/entries", bp+"/entries", map[string]any{"kind": "authority", "body": "x"})
	call(404, "POST", base+"/{id}/entries", base+"/999999/entries", map[string]any{"kind": "note", "body": "x"})
	var es struct{ Items []breach.Entry }
	_ = json.Unmarshal(call(200, "GET", base+"/{id}/notifications", bp+"/notifications", nil), &es)
	if len(es.Items) != 3 || es.Items[0].Kind != "authority" || es.Items[1].Kind != "persons" || es.Items[2].Kind != "followup" {
		t.Errorf("timeline %+v", es.Items)
	}
	call(404, "GET", base+"/{id}/notifications", base+"/999999/notifications", nil)
}

// The breach schemas name exactly the Go JSON fields.
func TestOpenAPIBreachSchemasMatchGoTypes(t *testing.T) {
	s := loadOpenAPI(t)
	for name, v := range map[string]any{
		"Breach": breach.Breach{}, "BreachInput": breach.Input{}, "BreachPerson": breach.AffectedPerson{}, "BreachLinkInput": breach.LinkInput{},
		"BreachLinkResult": breach.LinkResult{}, "BreachAuthorityInput": breach.AuthorityInput{}, "BreachNoticeReport": breach.NoticeReport{},
		"BreachEntry": breach.Entry{}, "BreachEntryInput": breach.EntryInput{},
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

// A breach goes through the API from recording to the notice in the
// outbox; read-only tokens cannot change anything.
func TestBreachThroughTheAPI(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		type idOnly struct {
			ID int64 `json:"id"`
		}
		p := decode[idOnly](t, e.do("POST", "/api/v1/persons", map[string]any{"first_name": "Dag", "last_name": "Data", "emails": []string{"dag@example.dk"}, "language": "da"}), http.StatusCreated)
		in := map[string]any{"title": "Misconfigured share", "description": "A file share with CVs was readable from the internet.",
			"aware_at": time.Now().UTC().Add(-2 * time.Hour), "risk": "high", "consequences": "Identity theft is possible.",
			"measures": "The share was closed.", "dpo_contact": "dpo@example.com", "data_categories": []string{"identity"}}
		ro := e.tokenWith("breaches:read")
		res := e.doAs(ro, "POST", "/api/v1/breaches", in)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("read-only token created a breach: %d", res.StatusCode)
		}
		b := decode[breach.Breach](t, e.do("POST", "/api/v1/breaches", in), http.StatusCreated)
		if b.AuthorityState != "pending" || b.SecondsLeft < 69*3600 || b.SecondsLeft > 70*3600 {
			t.Fatalf("countdown: %s, %d s", b.AuthorityState, b.SecondsLeft)
		}
		path := fmt.Sprintf("/api/v1/breaches/%d", b.ID)
		decode[breach.LinkResult](t, e.do("POST", path+"/persons", map[string]any{"person_ids": []int64{p.ID}}), http.StatusOK)
		if got := decode[breach.Breach](t, e.doAs(ro, "GET", path, nil), http.StatusOK); got.LinkedPersons != 1 {
			t.Fatalf("linked %d", got.LinkedPersons)
		}
		rep := decode[breach.NoticeReport](t, e.do("POST", path+"/notify-persons", nil), http.StatusOK)
		if rep.Mailed != 1 {
			t.Fatalf("notice %+v", rep)
		}
		ps := decode[struct{ Items []breach.AffectedPerson }](t, e.doAs(ro, "GET", path+"/persons", nil), http.StatusOK)
		if len(ps.Items) != 1 || ps.Items[0].MailID == nil || ps.Items[0].NotifiedAt == nil {
			t.Fatalf("persons %+v", ps.Items)
		}
		m, err := mail.Get(context.Background(), e.db, *ps.Items[0].MailID)
		if err != nil {
			t.Fatal(err)
		}
		if m.To != "dag@example.dk" || m.Template != "breach_notice" || !strings.Contains(m.Text, "Kære Dag") || !strings.Contains(m.Text, "identifikationsoplysninger") {
			t.Fatalf("outbox: %s %s\n%s", m.To, m.Template, m.Text)
		}
	})
}
