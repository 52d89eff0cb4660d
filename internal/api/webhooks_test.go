package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/webhook"
)

// oaWebhookAnswers drives every webhook operation through the documented
// answers, against a real receiver.
func oaWebhookAnswers(t *testing.T, e *env, call func(int, string, string, string, any, ...string) []byte) {
	t.Helper()
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, string(b))
		mu.Unlock()
	}))
	defer rc.Close()
	svc := webhook.New(e.db, webhook.Options{AllowPrivate: true})
	e.api.EnableWebhooks(svc)

	const hooks = "/api/v1/webhooks"
	call(200, "GET", "/api/v1/webhook-event-types", "/api/v1/webhook-event-types", nil)
	var created struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	in := map[string]any{"url": rc.URL + "/crm", "description": "CRM sync", "event_types": []string{"consent.granted", "request.created"}}
	if err := json.Unmarshal(call(201, "POST", hooks, hooks, in), &created); err != nil || created.ID == 0 || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("created %+v %v", created, err)
	}
	call(422, "POST", hooks, hooks, map[string]any{"url": "ftp://example.com", "event_types": []string{"consent.granted"}})
	call(422, "POST", hooks, hooks, map[string]any{"url": rc.URL, "event_types": []string{}})
	call(422, "POST", hooks, hooks, map[string]any{"url": rc.URL, "event_types": []string{"person.name_changed"}})
	call(400, "POST", hooks, hooks, map[string]any{"url": rc.URL, "event_types": []string{"consent.granted"}, "secret": "mine"})
	list := call(200, "GET", hooks, hooks, nil)
	if strings.Contains(string(list), "whsec_") {
		t.Fatalf("the list shows a secret: %s", list)
	}
	hp := fmt.Sprintf("%s/%d", hooks, created.ID)
	call(200, "GET", hooks+"/{id}", hp, nil)
	call(404, "GET", hooks+"/{id}", hooks+"/999999", nil)
	call(200, "PUT", hooks+"/{id}", hp, map[string]any{"url": rc.URL + "/crm", "event_types": []string{"consent.granted"}, "active": false})
	call(409, "POST", hooks+"/{id}/test", hp+"/test", nil)
	call(200, "PUT", hooks+"/{id}", hp, map[string]any{"url": rc.URL + "/crm", "event_types": []string{"consent.granted"}})

	var d webhook.Delivery
	_ = json.Unmarshal(call(202, "POST", hooks+"/{id}/test", hp+"/test", nil), &d)
	if _, err := svc.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Header.Get("webhook-id") != d.MsgID {
		t.Fatalf("receiver got %d requests", len(got))
	}
	ts := got[0].Header.Get("webhook-timestamp")
	var n int64
	fmt.Sscan(ts, &n)
	if !webhook.Verify(created.Secret, d.MsgID, n, []byte(bodies[0]), got[0].Header.Get("webhook-signature")) {
		t.Fatal("the secret shown at creation does not verify the delivery")
	}
	mu.Unlock()

	const dels = "/api/v1/webhook-deliveries"
	dp := fmt.Sprintf("%s/%d", dels, d.ID)
	var detail webhook.Delivery
	_ = json.Unmarshal(call(200, "GET", dels+"/{id}", dp, nil), &detail)
	if detail.Status != webhook.StatusDelivered || len(detail.AttemptLog) != 1 {
		t.Fatalf("delivery %+v", detail)
	}
	call(404, "GET", dels+"/{id}", dels+"/999999", nil)
	call(200, "GET", dels, fmt.Sprintf("%s?subscription_id=%d&status=delivered&event_type=webhook.test&limit=1", dels, created.ID), nil)
	call(422, "GET", dels, dels+"?status=lost", nil)
	call(422, "GET", dels, dels+"?limit=0", nil)
	call(202, "POST", dels+"/{id}/replay", dp+"/replay", nil)
	call(404, "POST", dels+"/{id}/replay", dels+"/999999/replay", nil)
	call(200, "POST", hooks+"/{id}/rotate-secret", hp+"/rotate-secret", nil)
	call(404, "POST", hooks+"/{id}/rotate-secret", hooks+"/999999/rotate-secret", nil)
	call(204, "DELETE", hooks+"/{id}", hp, nil)
	call(404, "DELETE", hooks+"/{id}", hp, nil)
}

// The webhook schemas name exactly the Go JSON fields.
func TestOpenAPIWebhookSchemas(t *testing.T) {
	s := loadOpenAPI(t)
	for name, v := range map[string]any{
		"WebhookSubscription": webhook.Subscription{}, "WebhookSubscriptionInput": webhook.SubscriptionInput{},
		"WebhookDelivery": webhook.Delivery{}, "WebhookAttempt": webhook.Attempt{},
	} {
		props, _ := s.schema(name)["properties"].(map[string]any)
		if got, want := slices.Sorted(maps.Keys(props)), oaJSONFields(reflect.TypeOf(v)); !slices.Equal(got, want) {
			t.Errorf("schema %s has properties %v, the Go type encodes %v", name, got, want)
		}
	}
	types := asStrings(s.schema("WebhookSubscriptionInput")["properties"].(map[string]any)["event_types"].(map[string]any)["items"].(map[string]any)["enum"])
	if !slices.Equal(types, webhook.EventTypes()) {
		t.Errorf("documented event types %v, served %v", types, webhook.EventTypes())
	}
}

// A token without webhooks:admin reaches no webhook endpoint.
func TestWebhooksNeedTheirScope(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		tok := e.tokenWith("persons:read", "persons:write", "consents:read", "consents:write", "rights:read", "rights:write", "audit:read", "config:read", "config:write")
		for _, p := range []string{"GET /api/v1/webhooks", "POST /api/v1/webhooks", "GET /api/v1/webhook-deliveries"} {
			method, path, _ := strings.Cut(p, " ")
			if res := e.doAs(tok, method, path, map[string]any{}); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %d", p, res.StatusCode)
			}
		}
	})
}
