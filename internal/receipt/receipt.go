// Package receipt issues signed consent receipts: a JSON Web Token (JWS
// compact serialization, EdDSA over Ed25519, RFC 8037) whose claims follow
// ISO/IEC TS 27560 as mapped by the W3C DPV consent-27560 guide and the
// Kantara Consent Receipt v1.1. Anyone can check a receipt with a standard
// JOSE library against the key set served by JWKS.
package receipt

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// SettingKey is the settings row holding the private key seed (base64).
const SettingKey = "receipt_signing_key"

// Alg is the JWS algorithm of every receipt.
const Alg = "EdDSA"

// b64 decodes strictly (unused bits must be zero); Verify also refuses
// line breaks, so a verified token is the very one that was signed.
var b64 = base64.RawURLEncoding.Strict()

// Signer signs receipts with the installation's Ed25519 key.
type Signer struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	kid  string
}

// Load returns the signer whose seed is stored in the settings table,
// creating and storing a new key when there is none. Several servers may
// call it at once: the first insert wins and everyone uses what is stored.
func Load(ctx context.Context, db *store.DB) (*Signer, error) {
	var enc string
	err := db.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, SettingKey).Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		enc, err = create(ctx, db)
	}
	if err != nil {
		return nil, fmt.Errorf("receipt: load signing key: %w", err)
	}
	seed, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("receipt: the stored signing key is not a base64 Ed25519 seed")
	}
	return newSigner(seed), nil
}

// create stores a fresh seed unless another server was faster, and
// returns the stored one. Only the winner writes the audit event.
func create(ctx context.Context, db *store.DB) (string, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return "", err
	}
	var stored string
	err := db.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
			SettingKey, base64.StdEncoding.EncodeToString(seed))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			s := newSigner(seed)
			if _, err := audit.Append(tx, time.Now(), audit.Entry{
				Actor: audit.System, Action: "receipt_key.create", ObjectType: "receipt_key", ObjectID: s.kid,
				Reason: "signing key for consent receipts", After: s.jwk(),
			}, nil); err != nil {
				return err
			}
		}
		return tx.QueryRow(`SELECT value FROM settings WHERE key = ?`, SettingKey).Scan(&stored)
	})
	return stored, err
}

func newSigner(seed []byte) *Signer {
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	return &Signer{priv: priv, pub: pub, kid: KeyID(pub)}
}

// KeyID is the key id of a public key: base64url (no padding) of the
// first 16 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return b64.EncodeToString(sum[:16])
}

// KeyID is the id ("kid") of the signer's key.
func (s *Signer) KeyID() string { return s.kid }

// PublicKey is the signer's public key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// JWK is a public Ed25519 key as a JSON Web Key (RFC 8037).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

func (s *Signer) jwk() JWK {
	return JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(s.pub), Kid: s.kid, Alg: Alg, Use: "sig"}
}

// JWKS returns the JSON Web Key Set holding the signer's public key.
func (s *Signer) JWKS() []byte {
	b, _ := json.Marshal(struct {
		Keys []JWK `json:"keys"`
	}{[]JWK{s.jwk()}})
	return b
}

type header struct {
	Alg  string   `json:"alg"`
	Kid  string   `json:"kid,omitempty"`
	Typ  string   `json:"typ,omitempty"`
	Crit []string `json:"crit,omitempty"`
}

// Sign returns claims as a compact JWS: base64url(header) "."
// base64url(JSON of claims) "." base64url(Ed25519 signature of the two).
func (s *Signer) Sign(claims any) (string, error) {
	h, err := json.Marshal(header{Alg: Alg, Kid: s.kid, Typ: "JWT"})
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("receipt: encode claims: %w", err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	return input + "." + b64.EncodeToString(ed25519.Sign(s.priv, []byte(input))), nil
}

// Errors of Verify.
var (
	ErrMalformed    = errors.New("receipt: malformed token")
	ErrAlg          = errors.New("receipt: unsupported algorithm (want EdDSA)")
	ErrUnknownKey   = errors.New("receipt: unknown key id")
	ErrBadSignature = errors.New("receipt: signature does not verify")
)

// Verify checks a compact JWS against the key of its kid in jwks and
// returns the payload (the claims as JSON).
func Verify(jwks []byte, token string) ([]byte, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: want three dot-separated parts", ErrMalformed)
	}
	hb, err1 := b64.DecodeString(parts[0])
	payload, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// The decoder skips line breaks: only the one spelling of each part.
	if b64.EncodeToString(hb) != parts[0] || b64.EncodeToString(payload) != parts[1] || b64.EncodeToString(sig) != parts[2] {
		return nil, fmt.Errorf("%w: not canonical base64url", ErrMalformed)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg != Alg {
		return nil, fmt.Errorf("%w: %q", ErrAlg, h.Alg)
	}
	if len(h.Crit) > 0 {
		return nil, fmt.Errorf("%w: unsupported critical header %v", ErrMalformed, h.Crit)
	}
	var set struct {
		Keys []JWK `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		return nil, fmt.Errorf("receipt: key set: %w", err)
	}
	for _, k := range set.Keys {
		if h.Kid == "" || k.Kid != h.Kid || k.Kty != "OKP" || k.Crv != "Ed25519" {
			continue
		}
		pub, err := b64.DecodeString(k.X)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("receipt: key %q is not an Ed25519 public key", k.Kid)
		}
		if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
			return nil, ErrBadSignature
		}
		return payload, nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownKey, h.Kid)
}

// Controller is the organisation that issues receipts (the PII controller).
type Controller struct {
	Name             string
	Contact          string
	PrivacyNoticeURL string
	// Jurisdiction defaults to "EU".
	Jurisdiction string
	// Issuer is the "iss" of receipts, e.g. the server's base URL.
	Issuer string
}

// SchemaVersion names the standards the claims follow.
const SchemaVersion = "ISO/IEC TS 27560:2023; Kantara CR v1.1"

// Claims is the content of a consent receipt.
type Claims struct {
	Issuer         string `json:"iss"`
	IssuedAt       int64  `json:"iat"`
	ID             string `json:"jti"`
	SchemaVersion  string `json:"schema_version"`
	RecordID       string `json:"record_id"`
	PIIPrincipalID string `json:"pii_principal_id"`
	Language       string `json:"language"`
	Jurisdiction   string `json:"jurisdiction"`
	// PIIControllers are the controllers ({name, contact}).
	PIIControllers []PIIController `json:"pii_controllers"`
	// PrivacyNotice is the URL of the privacy notice.
	PrivacyNotice    string         `json:"privacy_notice,omitempty"`
	Purposes         []PurposeClaim `json:"purposes"`
	Event            EventClaim     `json:"event"`
	ValidityUntil    string         `json:"validity_until,omitempty"`
	WithdrawalMethod string         `json:"withdrawal_method"`
	CollectionMethod string         `json:"collection_method"`
	// Sensitive is true for special categories (explicit consent, Art. 9).
	Sensitive bool `json:"sensitive"`
}

// PIIController names a controller and how to reach it.
type PIIController struct {
	Name    string `json:"name"`
	Contact string `json:"contact,omitempty"`
}

// PurposeClaim is a purpose the receipt covers.
type PurposeClaim struct {
	PurposeID     string `json:"purpose_id"`
	Name          string `json:"name"`
	DPVPurpose    string `json:"dpv_purpose,omitempty"`
	TextVersion   int    `json:"text_version"`
	ConsentText   string `json:"consent_text,omitempty"`
	LegalBasis    string `json:"legal_basis"`
	LegalBasisDPV string `json:"legal_basis_dpv"`
	// ConsentType is "explicit", "expressed" or "not-applicable".
	ConsentType string `json:"consent_type"`
}

// EventClaim is the consent event the receipt attests.
type EventClaim struct {
	Type       string       `json:"type"`
	StateDPV   string       `json:"state_dpv"`
	Time       string       `json:"time"`
	RecordedAt string       `json:"recorded_at"`
	Source     string       `json:"source,omitempty"`
	Actor      ledger.Actor `json:"actor"`
}

// Build makes the claims of the receipt for ev, whose purpose is p.
func Build(ev *ledger.ConsentEvent, p *ledger.Purpose, c Controller, issuedAt time.Time) Claims {
	id := "urn:consento:consent-event:" + strconv.FormatInt(ev.ID, 10)
	jurisdiction := c.Jurisdiction
	if jurisdiction == "" {
		jurisdiction = "EU"
	}
	withdrawal := "Withdraw at any time on the preference page"
	if c.Contact != "" {
		withdrawal += " or by writing to " + c.Contact
	}
	cl := Claims{
		Issuer: c.Issuer, IssuedAt: issuedAt.Unix(), ID: id, SchemaVersion: SchemaVersion, RecordID: id,
		PIIPrincipalID: "urn:consento:person:" + strconv.FormatInt(ev.PersonID, 10),
		Language:       ev.Language, Jurisdiction: jurisdiction,
		PIIControllers: []PIIController{{Name: c.Name, Contact: c.Contact}},
		PrivacyNotice:  c.PrivacyNoticeURL,
		Purposes:       []PurposeClaim{purposeClaim(ev, p)},
		Event: EventClaim{
			Type: string(ev.Kind), StateDPV: ev.Kind.DPV(), Time: rfc3339(ev.OccurredAt),
			RecordedAt: rfc3339(ev.RecordedAt), Source: ev.Source, Actor: ev.Actor,
		},
		WithdrawalMethod: withdrawal,
		CollectionMethod: ev.Source,
		Sensitive:        ev.LegalBasis == ledger.ExplicitConsent,
	}
	if ev.ValidUntil != nil {
		cl.ValidityUntil = rfc3339(*ev.ValidUntil)
	}
	return cl
}

func purposeClaim(ev *ledger.ConsentEvent, p *ledger.Purpose) PurposeClaim {
	pc := PurposeClaim{
		PurposeID: ev.Purpose, Name: ev.Purpose, DPVPurpose: p.DPVPurpose, TextVersion: ev.TextVersion,
		LegalBasis: string(ev.LegalBasis), LegalBasisDPV: ev.LegalBasis.DPV(), ConsentType: "not-applicable",
	}
	switch ev.LegalBasis {
	case ledger.ExplicitConsent:
		pc.ConsentType = "explicit"
	case ledger.Consent:
		pc.ConsentType = "expressed"
	}
	t, ok := p.Texts[ev.Language]
	if !ok {
		t, ok = p.Texts["en"]
	}
	if ok {
		if t.Name != "" {
			pc.Name = t.Name
		}
		// p.Texts holds the current version only: older wording is omitted
		// rather than misquoted.
		if ev.TextVersion == p.CurrentVersion {
			pc.ConsentText = t.ConsentText
		}
	}
	return pc
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
