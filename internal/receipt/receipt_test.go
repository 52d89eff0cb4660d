package receipt_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/receipt"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

var controller = receipt.Controller{
	Name: "Acme A/S", Contact: "privacy@acme.example", PrivacyNoticeURL: "https://acme.example/privacy", Issuer: "https://consent.acme.example",
}

func load(t *testing.T, db *store.DB) *receipt.Signer {
	t.Helper()
	s, err := receipt.Load(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadCreatesOneKey(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		opts := storetest.Options(t, e)
		// Two handles on one database stand for two server instances.
		var dbs []*store.DB
		for range 2 {
			db, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs = append(dbs, db)
		}
		if _, err := dbs[0].Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		kids := make([]string, 8)
		var wg sync.WaitGroup
		for i := range kids {
			wg.Go(func() {
				s, err := receipt.Load(ctx, dbs[i%2])
				if err != nil {
					t.Error(err)
					return
				}
				kids[i] = s.KeyID()
			})
		}
		wg.Wait()
		for _, k := range kids {
			if k == "" || k != kids[0] {
				t.Fatalf("concurrent loads disagree: %v", kids)
			}
		}
		if again := load(t, dbs[0]); again.KeyID() != kids[0] {
			t.Fatalf("second load: kid %s, want %s", again.KeyID(), kids[0])
		}
		var seed string
		if err := dbs[0].QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, receipt.SettingKey).Scan(&seed); err != nil {
			t.Fatal(err)
		}
		evs, err := audit.List(ctx, dbs[0], audit.Filter{Action: "receipt_key.create"})
		if err != nil || len(evs) != 1 {
			t.Fatalf("want one receipt_key.create event, got %d (%v)", len(evs), err)
		}
		ev := evs[0]
		if ev.Actor != audit.System || ev.ObjectType != "receipt_key" || ev.ObjectID != kids[0] || ev.Payload == nil {
			t.Fatalf("audit event %+v", ev)
		}
		raw, _ := json.Marshal(ev.Payload)
		rawSeed, _ := base64.StdEncoding.DecodeString(seed)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if strings.Contains(string(raw), enc.EncodeToString(rawSeed)) {
				t.Fatal("the private key seed is in the audit payload")
			}
		}
		if !strings.Contains(string(ev.Payload.After), kids[0]) {
			t.Fatalf("audit payload lacks the public JWK: %s", ev.Payload.After)
		}
		rep, err := audit.Verify(ctx, dbs[0])
		if err != nil || !rep.OK {
			t.Fatalf("audit chain: %+v %v", rep, err)
		}
	})
}

func TestSignVerify(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		s := load(t, storetest.Open(t, e))
		jwks := s.JWKS()
		var set struct{ Keys []map[string]string }
		if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("jwks %s: %v", jwks, err)
		}
		k := set.Keys[0]
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["kid"] != s.KeyID() || k["x"] == "" {
			t.Fatalf("jwk %v", k)
		}

		claims := map[string]any{"iss": "me", "n": 42.0}
		tok, err := s.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		payload, err := receipt.Verify(jwks, tok)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(payload, &got); err != nil || got["iss"] != "me" || got["n"] != 42.0 {
			t.Fatalf("payload %s %v", payload, err)
		}

		parts := strings.Split(tok, ".")
		enc := base64.RawURLEncoding.EncodeToString
		tampered, _ := json.Marshal(map[string]any{"iss": "me", "n": 43})
		other := load(t, storetest.Open(t, storetest.SQLite))
		otherTok, _ := other.Sign(claims)
		for name, c := range map[string]struct {
			token string
			want  error
		}{
			"tampered payload": {parts[0] + "." + enc(tampered) + "." + parts[2], receipt.ErrBadSignature},
			"alg none":         {enc([]byte(`{"alg":"none","kid":"`+s.KeyID()+`"}`)) + "." + parts[1] + ".", receipt.ErrAlg},
			"alg HS256":        {enc([]byte(`{"alg":"HS256","kid":"`+s.KeyID()+`"}`)) + "." + parts[1] + "." + parts[2], receipt.ErrAlg},
			"unknown kid":      {otherTok, receipt.ErrUnknownKey},
			"two parts":        {parts[0] + "." + parts[1], receipt.ErrMalformed},
			"bad base64":       {parts[0] + ".!!." + parts[2], receipt.ErrMalformed},
		} {
			if _, err := receipt.Verify(jwks, c.token); !errors.Is(err, c.want) {
				t.Errorf("%s: got %v, want %v", name, err, c.want)
			}
		}
	})
}

// TestJOSEInterop verifies a receipt with go-jose, as any third party would.
func TestJOSEInterop(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		s := load(t, storetest.Open(t, e))
		tok, err := s.Sign(map[string]string{"jti": "urn:x"})
		if err != nil {
			t.Fatal(err)
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(s.JWKS(), &set); err != nil {
			t.Fatal(err)
		}
		keys := set.Key(s.KeyID())
		if len(keys) != 1 || !keys[0].Valid() || keys[0].Algorithm != "EdDSA" {
			t.Fatalf("jose key set: %+v", set)
		}
		obj, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.EdDSA})
		if err != nil {
			t.Fatal(err)
		}
		if h := obj.Signatures[0].Header; h.KeyID != s.KeyID() || h.ExtraHeaders["typ"] != "JWT" {
			t.Fatalf("header %+v", h)
		}
		payload, err := obj.Verify(keys[0])
		if err != nil {
			t.Fatal(err)
		}
		if string(payload) != `{"jti":"urn:x"}` {
			t.Fatalf("payload %s", payload)
		}
		if _, err := obj.Verify(load(t, storetest.Open(t, storetest.SQLite)).PublicKey()); err == nil {
			t.Fatal("go-jose accepted a foreign key")
		}
	})
}

func TestReceiptOfRecordedConsent(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		db := storetest.Open(t, e)
		l := ledger.New(db)
		if err := l.Seed(ctx); err != nil {
			t.Fatal(err)
		}
		staff := audit.Actor{Type: "user", ID: "1"}
		person, err := l.CreatePerson(ctx, staff, ledger.PersonInput{FirstName: "Anna", LastName: "Berg", Emails: []string{"anna@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		until := time.Now().Add(365 * 24 * time.Hour)
		ev, err := l.RecordConsent(ctx, staff, ledger.ConsentInput{PersonID: person.ID, Purpose: "e_marketing", Kind: ledger.Granted,
			Source: "web_form", Language: "de", ValidUntil: &until})
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.Purpose(ctx, "e_marketing")
		if err != nil {
			t.Fatal(err)
		}
		s := load(t, db)
		tok, err := s.Sign(receipt.Build(ev, p, controller, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		payload, err := receipt.Verify(s.JWKS(), tok)
		if err != nil {
			t.Fatal(err)
		}
		var c receipt.Claims
		if err := json.Unmarshal(payload, &c); err != nil {
			t.Fatal(err)
		}
		pc := c.Purposes[0]
		for name, got := range map[string][2]string{
			"dpv_purpose":     {pc.DPVPurpose, "https://w3id.org/dpv#DirectMarketing"},
			"legal_basis_dpv": {pc.LegalBasisDPV, "https://w3id.org/dpv/legal/eu/gdpr#A6-1-a"},
			"state_dpv":       {c.Event.StateDPV, "https://w3id.org/dpv#ConsentGiven"},
			"consent_type":    {pc.ConsentType, "expressed"},
			"name":            {pc.Name, "E-Marketing"},
			"consent_text":    {pc.ConsentText, p.Texts["de"].ConsentText},
			"jti":             {c.ID, "urn:consento:consent-event:" + strconv.FormatInt(ev.ID, 10)},
			"principal":       {c.PIIPrincipalID, "urn:consento:person:" + strconv.FormatInt(person.ID, 10)},
			"jurisdiction":    {c.Jurisdiction, "EU"},
			"collection":      {c.CollectionMethod, "web_form"},
			"withdrawal":      {c.WithdrawalMethod, "Withdraw at any time on the preference page or by writing to privacy@acme.example"},
			"event.time":      {c.Event.Time, ev.OccurredAt.UTC().Format(time.RFC3339Nano)},
		} {
			if got[0] != got[1] {
				t.Errorf("%s = %q, want %q", name, got[0], got[1])
			}
		}
		if c.ValidityUntil == "" || c.Sensitive || c.SchemaVersion == "" || c.PIIControllers[0].Name != "Acme A/S" || c.Event.Actor != staff {
			t.Errorf("claims %+v", c)
		}
	})
}

func TestBuildWithoutDatabase(t *testing.T) {
	p := &ledger.Purpose{Key: "health", DPVPurpose: "https://w3id.org/dpv#ServiceProvision", CurrentVersion: 2,
		Texts: map[string]ledger.Text{"en": {Name: "Health data", ConsentText: "I agree (v2)."}}}
	ev := &ledger.ConsentEvent{ID: 7, PersonID: 3, Purpose: "health", Kind: ledger.Withdrawn, LegalBasis: ledger.ExplicitConsent,
		TextVersion: 1, Language: "da", OccurredAt: time.Unix(1700000000, 0)}
	c := receipt.Build(ev, p, receipt.Controller{Name: "Acme", Jurisdiction: "DK"}, time.Unix(1700000100, 0))
	pc := c.Purposes[0]
	if pc.Name != "Health data" || pc.ConsentText != "" || pc.ConsentType != "explicit" || !c.Sensitive ||
		pc.LegalBasisDPV != "https://w3id.org/dpv/legal/eu/gdpr#A9-2-a" || c.Event.StateDPV != "https://w3id.org/dpv#ConsentWithdrawn" ||
		c.Jurisdiction != "DK" || c.IssuedAt != 1700000100 || c.ValidityUntil != "" {
		t.Fatalf("claims %+v", c)
	}
	raw, _ := json.Marshal(c)
	if strings.Contains(string(raw), "consent_text") || strings.Contains(string(raw), "validity_until") {
		t.Fatalf("omitted fields present: %s", raw)
	}
	ev.LegalBasis, ev.TextVersion = ledger.Contract, 2
	if pc := receipt.Build(ev, p, receipt.Controller{}, time.Now()).Purposes[0]; pc.ConsentType != "not-applicable" || pc.ConsentText != "I agree (v2)." {
		t.Fatalf("contract purpose %+v", pc)
	}
}
