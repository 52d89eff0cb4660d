package ledger

import (
	"strconv"
	"strings"

	"github.com/consento/consento/internal/audit"
)

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

// StopKind is the event that records a person's own "stop" for a purpose
// (an unsubscribe link, the preference page): the withdrawal of a consent
// they gave, the refusal of a consent they never gave, and an objection
// (Art. 21) to processing on any other basis, or to a purpose that cannot
// be consented to. state and basis are the purpose's current state ("none"
// or "" when nothing was recorded); allowsConsent whether the purpose
// allows consent. Record it without a legal basis: the ledger records the
// basis the purpose is processed on (see resolveFor), so the person's
// "stop" never fails on a basis the purpose does not allow.
func StopKind(allowsConsent bool, state EventKind, basis LegalBasis) EventKind {
	switch {
	case (state == Granted || state == Expired) && basis.IsConsent():
		return Withdrawn
	case state == Granted:
		return Objected
	case allowsConsent:
		return Refused
	}
	return Objected
}

// OwnConsentSources are the sources that record the person's own act: a web
// form (with its double opt-in) and the self-service pages. A consent from
// staff or an API client lifts an objection only with a note and either
// an evidence file or one of these sources.
var OwnConsentSources = []string{SourceWebForm, SourceSelfService}

func ownConsentSource(key string) bool {
	for _, s := range OwnConsentSources {
		if s == key {
			return true
		}
	}
	return false
}

// objectionBars refuses a grant that would override an objection (Art.
// 21). For direct marketing the objection is absolute (Art. 21(3)): no
// basis but the person's own new consent allows it again. For other
// purposes processing may resume on compelling legitimate grounds, which
// must be written down as the reason.
//
// A new consent lifts an objection, for any purpose, only when it is the
// person's own: given by them (self-service, double opt-in), or recorded by
// staff or an API client with a note and either an evidence file or a
// source that records the person's own act (OwnConsentSources). lifts
// reports such a consent, which is audited as consent.objection_lifted.
func objectionBars(p *Purpose, before *ConsentState, actor Actor, kind EventKind, basis LegalBasis, source, reason string, ev *Evidence) (lifts bool, err error) {
	if before == nil || before.State != Objected || kind != Granted {
		return false, nil
	}
	if !basis.IsConsent() {
		if p.DirectMarketing() {
			return false, conflict("objection-absolute", "the person objected to direct marketing (GDPR Art. 21(3)): only their own new consent allows it again (legal basis consent, with proof of it)",
				FieldError{Field: "legal_basis", Message: "an objection to direct marketing cannot be overridden: only the person's own new consent lifts it"})
		}
		if len(strings.TrimSpace(reason)) < 20 {
			return false, invalid("objection-needs-grounds", "the person objected (GDPR Art. 21(1)): resuming needs compelling legitimate grounds, written down as the reason",
				FieldError{Field: "reason", Message: "state the compelling legitimate grounds (at least 20 characters)"})
		}
		return false, nil
	}
	if actor.Type == "subject" {
		return true, nil
	}
	hasNote := strings.TrimSpace(ev.Note) != ""
	if hasNote && (len(ev.Files) > 0 || ownConsentSource(source)) {
		return true, nil
	}
	what := "the person objected to this purpose (GDPR Art. 21)"
	if p.DirectMarketing() {
		what = "the person objected to direct marketing (GDPR Art. 21(3))"
	}
	var fields []FieldError
	if !hasNote {
		fields = append(fields, FieldError{Field: "evidence.note", Message: "describe how the person gave their own new consent"})
	}
	if len(ev.Files) == 0 && !ownConsentSource(source) {
		fields = append(fields, FieldError{Field: "evidence.files", Message: "attach proof of the person's own new consent, or record it with the source web_form or self_service"})
	}
	return false, invalid("objection-needs-own-consent", what+": a consent lifts the objection only with proof of the person's own new consent: a note and an evidence file (or the source web_form or self_service)", fields...)
}

// liftedEntry is the audit event of a consent that lifts an objection,
// appended after the consent event itself.
func liftedEntry(p *Purpose, ev *ConsentEvent, reason string) audit.Entry {
	files := make([]string, len(ev.Evidence.Files))
	for i, f := range ev.Evidence.Files {
		files[i] = f.SHA256
	}
	return audit.Entry{Actor: ev.Actor, Action: "consent.objection_lifted", ObjectType: "consent_event", ObjectID: strconv.FormatInt(ev.ID, 10),
		PersonID: ev.PersonID, Reason: reason, After: map[string]any{
			"purpose": p.Key, "direct_marketing": p.DirectMarketing(), "consent_event_id": ev.ID, "legal_basis": ev.LegalBasis,
			"source": ev.Source, "evidence_note": ev.Evidence.Note, "evidence_files": files,
		}}
}
