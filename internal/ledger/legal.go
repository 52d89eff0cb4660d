package ledger

// LegalBasis is a lawful basis for processing under GDPR Art. 6(1), or
// explicit consent for special categories under Art. 9(2)(a).
type LegalBasis string

const (
	Consent             LegalBasis = "consent"              // Art. 6(1)(a)
	Contract            LegalBasis = "contract"             // Art. 6(1)(b)
	LegalObligation     LegalBasis = "legal_obligation"     // Art. 6(1)(c)
	VitalInterests      LegalBasis = "vital_interests"      // Art. 6(1)(d)
	PublicTask          LegalBasis = "public_task"          // Art. 6(1)(e)
	LegitimateInterests LegalBasis = "legitimate_interests" // Art. 6(1)(f)
	ExplicitConsent     LegalBasis = "explicit_consent"     // Art. 9(2)(a)
)

// LegalBases lists every basis in the order of the Regulation.
var LegalBases = []LegalBasis{Consent, Contract, LegalObligation, VitalInterests, PublicTask, LegitimateInterests, ExplicitConsent}

const dpvGDPR = "https://w3id.org/dpv/legal/eu/gdpr#"

var legalInfo = map[LegalBasis]struct{ article, dpv string }{
	Consent:             {"Art. 6(1)(a)", dpvGDPR + "A6-1-a"},
	Contract:            {"Art. 6(1)(b)", dpvGDPR + "A6-1-b"},
	LegalObligation:     {"Art. 6(1)(c)", dpvGDPR + "A6-1-c"},
	VitalInterests:      {"Art. 6(1)(d)", dpvGDPR + "A6-1-d"},
	PublicTask:          {"Art. 6(1)(e)", dpvGDPR + "A6-1-e"},
	LegitimateInterests: {"Art. 6(1)(f)", dpvGDPR + "A6-1-f"},
	ExplicitConsent:     {"Art. 9(2)(a)", dpvGDPR + "A9-2-a"},
}

// Valid reports whether b is a known basis.
func (b LegalBasis) Valid() bool { _, ok := legalInfo[b]; return ok }

// Article is the provision, e.g. "Art. 6(1)(a)".
func (b LegalBasis) Article() string { return legalInfo[b].article }

// DPV is the W3C Data Privacy Vocabulary IRI of the basis.
func (b LegalBasis) DPV() string { return legalInfo[b].dpv }

// IsConsent reports whether the basis is (explicit) consent.
func (b LegalBasis) IsConsent() bool { return b == Consent || b == ExplicitConsent }

// EventKind is what happened to a consent.
type EventKind string

const (
	Granted   EventKind = "granted"
	Withdrawn EventKind = "withdrawn"
	Refused   EventKind = "refused"
	Objected  EventKind = "objected"
	Pending   EventKind = "pending"
	Expired   EventKind = "expired"
)

const dpv = "https://w3id.org/dpv#"

var eventDPV = map[EventKind]string{
	Granted:   dpv + "ConsentGiven",
	Withdrawn: dpv + "ConsentWithdrawn",
	Refused:   dpv + "ConsentRefused",
	Objected:  dpvGDPR + "A21", // right to object, GDPR Art. 21
	Pending:   dpv + "ConsentRequested",
	Expired:   dpv + "ConsentExpired",
}

// Valid reports whether k is a known event kind.
func (k EventKind) Valid() bool { _, ok := eventDPV[k]; return ok }

// DPV is the W3C DPV IRI of the state the event leads to.
func (k EventKind) DPV() string { return eventDPV[k] }

// Light is the traffic light of a person.
type Light string

const (
	Green  Light = "green"  // every active purpose has a valid legal basis
	Yellow Light = "yellow" // at least one has
	Red    Light = "red"    // none has
)
