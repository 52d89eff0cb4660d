package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/webhook"
)

var admin = audit.Actor{Type: "user", ID: "1"}

type env struct {
	ctx  context.Context
	db   *store.DB
	opts store.Options
	l    *ledger.Service
	r    *rights.Service
	w    *webhook.Service
	now  time.Time
}

func newEnv(t *testing.T, e storetest.Engine) *env {
	t.Helper()
	ctx := context.Background()
	opts := storetest.Options(t, e)
	db, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(db)
	if err := l.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	en := &env{ctx: ctx, db: db, opts: opts, l: l, r: rights.New(l), now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	en.w = en.service(db)
	return en
}

// service is a webhook service on db with the env's clock and no jitter.
func (e *env) service(db *store.DB) *webhook.Service {
	w := webhook.New(db, webhook.Options{AllowPrivate: true, Workers: 4, Timeout: 5 * time.Second})
	w.SetClock(func() time.Time { return e.now })
	w.SetJitter(func(d time.Duration) time.Duration { return d })
	return w
}

// hit is one request the receiver got.
type hit struct {
	id, ts, sig string
	body        []byte
}

// receiver is a real HTTP server that answers with the status in code.
type receiver struct {
	*httptest.Server
	code atomic.Int64
	mu   sync.Mutex
	hits []hit
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.code.Store(http.StatusNoContent)
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body})
		rc.mu.Unlock()
		w.WriteHeader(int(rc.code.Load()))
		w.Write([]byte("answer from the receiver"))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// verify checks a signature as the Standard Webhooks spec describes it,
// without the package's code: HMAC-SHA256 keyed with the base64-decoded
// part of whsec_…, over "id.timestamp.body", base64, prefixed "v1,".
func verify(t *testing.T, secret string, h hit) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(h.id + "." + h.ts + "." + string(h.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, s := range strings.Fields(h.sig) {
		if s == want {
			return
		}
	}
	t.Fatalf("signature %q does not verify (want %s among them)", h.sig, want)
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (e *env) deliver(t *testing.T) int {
	t.Helper()
	return must[int](t)(e.w.DeliverDue(e.ctx))
}

type body struct {
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

func decode(t *testing.T, b []byte) body {
	t.Helper()
	var out body
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	if _, err := time.Parse(time.RFC3339, out.Timestamp); err != nil {
		t.Fatalf("timestamp %q: %v", out.Timestamp, err)
	}
	return out
}

// The signing scheme against the test vector of the Standard Webhooks
// reference libraries.
func TestSignatureTestVector(t *testing.T) {
	sig, err := webhook.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("signature %s", sig)
	}
	if !webhook.Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`), "v1,bm9wZQ== "+sig) {
		t.Fatal("a list with the right signature does not verify")
	}
	if webhook.Verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, []byte(`{"test": 2432232314}`), sig) {
		t.Fatal("another timestamp verifies")
	}
}

func TestDeliveriesFollowEvents(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := e.ctx
		rc := newReceiver(t)
		before := must[*ledger.Person](t)(e.l.CreatePerson(ctx, admin, ledger.PersonInput{FirstName: "Early", Emails: []string{"early@example.com"}}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: before.ID, Purpose: "e_marketing", Kind: ledger.Granted}))

		_, secretA, err := e.w.Create(ctx, admin, webhook.SubscriptionInput{URL: rc.URL + "/consents", EventTypes: []string{"consent.granted", "consent.withdrawn", "person.erased", "person.restricted", "person.restriction_lifted"}})
		if err != nil {
			t.Fatal(err)
		}
		requests, secretB, err := e.w.Create(ctx, admin, webhook.SubscriptionInput{URL: rc.URL + "/requests", Description: "CRM", EventTypes: []string{"request.created"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secretA, "whsec_") || secretA == secretB {
			t.Fatalf("secrets %q %q", secretA, secretB)
		}

		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, admin, ledger.PersonInput{FirstName: "Anna", LastName: "Quist", Emails: []string{"anna.quist@example.com"}}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted, Reason: "asked at the fair"}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Withdrawn}))
		req := must[*rights.Request](t)(e.r.CreateRequest(ctx, admin, rights.RequestInput{PersonID: &p.ID, Type: rights.TypeRestriction, Details: "Anna says the address is wrong"}))
		must[*rights.Request](t)(e.r.VerifyIdentity(ctx, admin, req.ID, "ID card"))
		must[*rights.Request](t)(e.r.Restrict(ctx, admin, req.ID, "accuracy contested by Anna"))
		if err := e.r.LiftRestriction(ctx, admin, p.ID, "address corrected, Anna was told"); err != nil {
			t.Fatal(err)
		}
		// Erasure at level 2 (sealed audit payload) and level 3 (clear).
		q := must[*ledger.Person](t)(e.l.CreatePerson(ctx, admin, ledger.PersonInput{FirstName: "Bo", Emails: []string{"bo@example.com"}}))
		for _, c := range []struct {
			pid   int64
			level int
		}{{q.ID, rights.LevelContact}, {p.ID, rights.LevelAnonymize}} {
			er := must[*rights.Request](t)(e.r.CreateRequest(ctx, admin, rights.RequestInput{PersonID: &c.pid, Type: rights.TypeErasure}))
			must[*rights.Request](t)(e.r.VerifyIdentity(ctx, admin, er.ID, "ID card"))
			must[*rights.ErasureResult](t)(e.r.Erase(ctx, admin, er.ID, c.level, "asked to be forgotten"))
		}

		if n := e.deliver(t); n == 0 {
			t.Fatal("nothing delivered")
		}
		byPath := map[string][]body{}
		for _, h := range rc.got() {
			for _, leak := range []string{"anna", "Anna", "Quist", "example.com", "fair", "wrong", "forgotten", "Early", "Bo\""} {
				if strings.Contains(string(h.body), leak) {
					t.Fatalf("the body names %q: %s", leak, h.body)
				}
			}
		}
		var types []string
		for _, h := range rc.got() {
			b := decode(t, h.body)
			secret := secretA
			if b.Type == "request.created" {
				secret = secretB
			}
			verify(t, secret, h)
			byPath[b.Type] = append(byPath[b.Type], b)
			types = append(types, b.Type)
		}
		want := "consent.granted consent.withdrawn request.created person.restricted person.restriction_lifted request.created person.erased request.created person.erased"
		if got := strings.Join(sortedCopy(types), " "); got != strings.Join(sortedCopy(strings.Fields(want)), " ") {
			t.Fatalf("types %v, want %s", types, want)
		}
		g := byPath["consent.granted"][0].Data
		if g["person_id"] != float64(p.ID) || g["purpose"] != "e_marketing" || g["state"] != "granted" || g["legal_basis"] != "consent" || g["source"] == nil {
			t.Fatalf("consent data %v", g)
		}
		if d := byPath["request.created"][0].Data; d["type"] == nil || d["status"] == nil || d["request_id"] == nil {
			t.Fatalf("request data %v", d)
		}
		levels := map[float64]float64{}
		for _, b := range byPath["person.erased"] {
			levels[b.Data["person_id"].(float64)], _ = b.Data["level"].(float64)
		}
		if levels[float64(q.ID)] != 2 || levels[float64(p.ID)] != 3 {
			t.Fatalf("erasure levels %v", levels)
		}
		// Nothing twice: a second run finds no work.
		if n := e.deliver(t); n != 0 {
			t.Fatalf("%d more attempts", n)
		}
		list := must[[]*webhook.Delivery](t)(e.w.Deliveries(ctx, webhook.DeliveryFilter{SubscriptionID: requests.ID}))
		if len(list) != 3 || list[0].Status != webhook.StatusDelivered || list[0].Attempts != 1 {
			t.Fatalf("deliveries of the request subscription: %+v", list)
		}
		d := must[*webhook.Delivery](t)(e.w.Delivery(ctx, list[0].ID))
		if len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode != http.StatusNoContent {
			t.Fatalf("attempts %+v", d.AttemptLog)
		}
	})
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRetryBackoffDeadAndReplay(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := e.ctx
		rc := newReceiver(t)
		rc.code.Store(http.StatusInternalServerError)
		sub, secret, err := e.w.Create(ctx, admin, webhook.SubscriptionInput{URL: rc.URL, EventTypes: []string{"consent.granted"}})
		if err != nil {
			t.Fatal(err)
		}
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, admin, ledger.PersonInput{FirstName: "Cai", Emails: []string{"cai@example.com"}}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted}))
		if n := e.deliver(t); n != 1 {
			t.Fatalf("first attempt: %d", n)
		}
		for i, wait := range webhook.Schedule {
			e.now = e.now.Add(wait - time.Second)
			if n := e.deliver(t); n != 0 {
				t.Fatalf("retry %d came %v early", i+1, time.Second)
			}
			e.now = e.now.Add(time.Second)
			if n := e.deliver(t); n != 1 {
				t.Fatalf("retry %d after %v: %d attempts", i+1, wait, n)
			}
		}
		list := must[[]*webhook.Delivery](t)(e.w.Deliveries(ctx, webhook.DeliveryFilter{Status: webhook.StatusFailed}))
		if len(list) != 1 {
			t.Fatalf("failed deliveries: %+v", list)
		}
		d := must[*webhook.Delivery](t)(e.w.Delivery(ctx, list[0].ID))
		if d.Attempts != len(webhook.Schedule)+1 || len(d.AttemptLog) != d.Attempts || d.LastStatusCode != 500 || d.AttemptLog[0].Response != "answer from the receiver" {
			t.Fatalf("dead delivery %+v", d)
		}
		e.now = e.now.Add(48 * time.Hour)
		if n := e.deliver(t); n != 0 {
			t.Fatalf("a failed delivery was retried: %d", n)
		}

		rc.code.Store(http.StatusOK)
		if d, err = e.w.Replay(ctx, admin, d.ID); err != nil || d.Status != webhook.StatusPending {
			t.Fatalf("replay: %+v %v", d, err)
		}
		if n := e.deliver(t); n != 1 {
			t.Fatalf("replay sent %d", n)
		}
		d = must[*webhook.Delivery](t)(e.w.Delivery(ctx, d.ID))
		if d.Status != webhook.StatusDelivered || len(d.AttemptLog) != len(webhook.Schedule)+2 {
			t.Fatalf("after replay %+v", d)
		}
		hits := rc.got()
		if len(hits) != len(webhook.Schedule)+2 {
			t.Fatalf("%d requests", len(hits))
		}
		for _, h := range hits {
			if h.id != d.MsgID || string(h.body) != string(hits[0].body) {
				t.Fatalf("attempts differ: %q %s, want %q %s", h.id, h.body, d.MsgID, hits[0].body)
			}
			verify(t, secret, h)
		}
		if ts := hits[len(hits)-1].ts; ts != strconv.FormatInt(e.now.Unix(), 10) {
			t.Fatalf("timestamp %s, want the time of sending %d", ts, e.now.Unix())
		}

		// Rotation: both secrets sign during the grace period, then only the new.
		newSecret := must[string](t)(e.w.RotateSecret(ctx, admin, sub.ID))
		if _, err := e.w.SendTest(ctx, admin, sub.ID); err != nil {
			t.Fatal(err)
		}
		e.deliver(t)
		last := rc.got()[len(rc.got())-1]
		if decode(t, last.body).Type != webhook.TestType || len(strings.Fields(last.sig)) != 2 {
			t.Fatalf("test delivery during rotation: %s %q", last.body, last.sig)
		}
		verify(t, secret, last)
		verify(t, newSecret, last)
		e.now = e.now.Add(webhook.RotationGrace + time.Second)
		must[int64](t)(e.w.SendTest(ctx, admin, sub.ID))
		e.deliver(t)
		last = rc.got()[len(rc.got())-1]
		if len(strings.Fields(last.sig)) != 1 {
			t.Fatalf("after the grace period: %q", last.sig)
		}
		verify(t, newSecret, last)
	})
}

func TestGoneDisablesTheSubscription(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := e.ctx
		rc := newReceiver(t)
		rc.code.Store(http.StatusGone)
		sub, _, err := e.w.Create(ctx, admin, webhook.SubscriptionInput{URL: rc.URL, EventTypes: []string{"consent.granted"}})
		if err != nil {
			t.Fatal(err)
		}
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, admin, ledger.PersonInput{FirstName: "Dag", Emails: []string{"dag@example.com"}}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted}))
		if n := e.deliver(t); n != 1 {
			t.Fatalf("attempts %d", n)
		}
		sub = must[*webhook.Subscription](t)(e.w.Subscription(ctx, sub.ID))
		if sub.Active || sub.DisabledReason != "gone" {
			t.Fatalf("after 410: %+v", sub)
		}
		if _, err := e.w.SendTest(ctx, admin, sub.ID); err == nil {
			t.Fatal("a test to a disabled subscription was queued")
		}
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "sales_service", Kind: ledger.Granted}))
		e.now = e.now.Add(time.Hour)
		if n := e.deliver(t); n != 0 || len(rc.got()) != 1 {
			t.Fatalf("a disabled subscription got %d more", n)
		}
		list := must[[]*webhook.Delivery](t)(e.w.Deliveries(ctx, webhook.DeliveryFilter{}))
		if len(list) != 1 || list[0].Status != webhook.StatusFailed {
			t.Fatalf("deliveries %+v", list)
		}
	})
}

// Two instances on one database, each dispatching and delivering at once:
// every event reaches the receiver exactly once.
func TestConcurrentInstancesDeliverOnce(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := e.ctx
		db2, err := store.Open(ctx, e.opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		w2 := e.service(db2)
		rc := newReceiver(t)
		if _, _, err := e.w.Create(ctx, admin, webhook.SubscriptionInput{URL: rc.URL, EventTypes: []string{"consent.granted", "consent.withdrawn"}}); err != nil {
			t.Fatal(err)
		}
		const n = 60
		var wg sync.WaitGroup
		for i := range n {
			p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, admin, ledger.PersonInput{FirstName: "P" + strconv.Itoa(i)}))
			wg.Go(func() {
				if _, err := e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted}); err != nil {
					t.Error(err)
				}
			})
		}
		for _, w := range []*webhook.Service{e.w, w2, e.w, w2} {
			wg.Go(func() {
				if _, err := w.DeliverDue(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for _, w := range []*webhook.Service{e.w, w2} {
			if _, err := w.DeliverDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		seen := map[string]int{}
		for _, h := range rc.got() {
			seen[h.id]++
			if seen[h.id] > 1 {
				t.Fatalf("%s delivered twice", h.id)
			}
		}
		if len(seen) != n {
			t.Fatalf("%d deliveries, want %d", len(seen), n)
		}
	})
}

func TestCleanupKeepsPendingAndRecent(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := e.ctx
		rc := newReceiver(t)
		sub := must[*webhook.Subscription](t)(func() (*webhook.Subscription, error) {
			s, _, err := e.w.Create(ctx, admin, webhook.SubscriptionInput{URL: rc.URL, EventTypes: []string{"consent.granted"}})
			return s, err
		}())
		must[int64](t)(e.w.SendTest(ctx, admin, sub.ID))
		e.deliver(t)
		rc.code.Store(http.StatusInternalServerError)
		e.now = e.now.Add(29 * 24 * time.Hour)
		must[int64](t)(e.w.SendTest(ctx, admin, sub.ID))
		e.deliver(t)
		e.now = e.now.Add(2 * 24 * time.Hour)
		if n := must[int](t)(e.w.Cleanup(ctx)); n != 1 {
			t.Fatalf("deleted %d, want the delivered one of 31 days ago", n)
		}
		list := must[[]*webhook.Delivery](t)(e.w.Deliveries(ctx, webhook.DeliveryFilter{}))
		if len(list) != 1 || list[0].Status != webhook.StatusPending {
			t.Fatalf("left %+v", list)
		}
	})
}

func TestSubscriptionValidation(t *testing.T) {
	ctx := context.Background()
	strict := webhook.New(nil, webhook.Options{})
	lax := webhook.New(nil, webhook.Options{AllowPrivate: true})
	for _, c := range []struct {
		svc *webhook.Service
		url string
		ok  bool
	}{
		{strict, "https://93.184.215.14/hooks", true},
		{strict, "http://93.184.215.14/hooks", false},
		{strict, "ftp://93.184.215.14/", false},
		{strict, "https://user:pw@93.184.215.14/", false},
		{strict, "https://10.1.2.3/", false},
		{strict, "https://[::1]/", false},
		{strict, "https://169.254.169.254/latest/meta-data", false},
		{strict, "https://100.64.0.1/", false},
		{strict, "https://[::ffff:192.168.1.1]/", false},
		{strict, "http://127.0.0.1:9000/", false},
		{lax, "http://127.0.0.1:9000/", true},
		{lax, "http://10.0.0.5/", false}, // http only to loopback
		{lax, "https://10.0.0.5/", true},
		{strict, "/relative", false},
		{strict, "", false},
	} {
		if err := c.svc.CheckURL(ctx, c.url); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.url, err)
		}
	}
}

// Run (what serve starts) dispatches and delivers on its own and stops
// when its context ends.
func TestRunDeliversUntilStopped(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := e.ctx
		arrived := make(chan string, 10)
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			arrived <- string(b)
		}))
		defer rc.Close()
		w := webhook.New(e.db, webhook.Options{AllowPrivate: true, Workers: 2, Poll: 10 * time.Millisecond})
		if _, _, err := w.Create(ctx, admin, webhook.SubscriptionInput{URL: rc.URL, EventTypes: []string{"consent.withdrawn"}}); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { defer close(stopped); w.Run(rctx) }()
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, admin, ledger.PersonInput{FirstName: "Eva"}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Withdrawn}))
		select {
		case b := <-arrived:
			if decode(t, []byte(b)).Type != "consent.withdrawn" {
				t.Fatalf("got %s", b)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("nothing arrived")
		}
		cancel()
		<-stopped
		list := must[[]*webhook.Delivery](t)(w.Deliveries(ctx, webhook.DeliveryFilter{}))
		if len(list) != 1 || list[0].Status != webhook.StatusDelivered {
			t.Fatalf("deliveries after Run: %+v", list)
		}
	})
}

// Deliveries of a deactivated subscription wait, and go out when it is
// activated again.
func TestInactiveSubscriptionParksItsDeliveries(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		e := newEnv(t, eng)
		ctx := e.ctx
		rc := newReceiver(t)
		rc.code.Store(http.StatusServiceUnavailable)
		in := webhook.SubscriptionInput{URL: rc.URL, EventTypes: []string{"consent.granted"}}
		sub, _, err := e.w.Create(ctx, admin, in)
		if err != nil {
			t.Fatal(err)
		}
		p := must[*ledger.Person](t)(e.l.CreatePerson(ctx, admin, ledger.PersonInput{FirstName: "Fie"}))
		must[*ledger.ConsentEvent](t)(e.l.RecordConsent(ctx, admin, ledger.ConsentInput{PersonID: p.ID, Purpose: "e_marketing", Kind: ledger.Granted}))
		if n := e.deliver(t); n != 1 {
			t.Fatalf("first attempt: %d", n)
		}
		off := false
		in.Active = &off
		must[*webhook.Subscription](t)(e.w.Update(ctx, admin, sub.ID, in))
		e.now = e.now.Add(time.Hour)
		if n := e.deliver(t); n != 0 {
			t.Fatalf("an inactive subscription got %d attempts", n)
		}
		list := must[[]*webhook.Delivery](t)(e.w.Deliveries(ctx, webhook.DeliveryFilter{}))
		if len(list) != 1 || list[0].Status != webhook.StatusPending || list[0].NextAttemptAt != nil {
			t.Fatalf("parked delivery %+v", list[0])
		}
		rc.code.Store(http.StatusOK)
		in.Active = nil
		must[*webhook.Subscription](t)(e.w.Update(ctx, admin, sub.ID, in))
		if n := e.deliver(t); n != 1 {
			t.Fatalf("after reactivation: %d attempts", n)
		}
		if d := must[*webhook.Delivery](t)(e.w.Delivery(ctx, list[0].ID)); d.Status != webhook.StatusDelivered {
			t.Fatalf("after reactivation %+v", d)
		}
	})
}
