package ledger

import "strings"

// DirectMarketing reports whether the purpose is direct marketing (by its
// DPV purpose), where an objection is absolute (GDPR Art. 21(2)–(3)).
func (p *Purpose) DirectMarketing() bool {
	for _, suffix := range []string{"#DirectMarketing", "#Marketing", "#Advertising", "#PersonalisedAdvertising"} {
		if strings.HasSuffix(p.DPVPurpose, suffix) {
			return true
		}
	}
	return false
}

// objectionBars refuses a grant that would override an objection (Art.
// 21): for direct marketing only a new consent of the person lifts it; for
// other purposes processing may resume only on compelling legitimate
// grounds, which must be written down as the reason.
func objectionBars(p *Purpose, before *ConsentState, kind EventKind, basis LegalBasis, reason string) error {
	if before == nil || before.State != Objected || kind != Granted || basis == Consent || basis == ExplicitConsent {
		return nil
	}
	if p.DirectMarketing() {
		return conflict("objection-absolute", "the person objected to direct marketing (GDPR Art. 21(3)): only their own new consent allows it again",
			FieldError{Field: "legal_basis", Message: "an objection to direct marketing cannot be overridden"})
	}
	if len(strings.TrimSpace(reason)) < 20 {
		return invalid("objection-needs-grounds", "the person objected (GDPR Art. 21(1)): resuming needs compelling legitimate grounds, written down as the reason",
			FieldError{Field: "reason", Message: "state the compelling legitimate grounds (at least 20 characters)"})
	}
	return nil
}
