package i18n_test

import (
	"slices"
	"testing"

	"github.com/consento/consento/internal/breach"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/records"
	"github.com/consento/consento/internal/retention"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/webhook"
)

// TestEveryValueHasALabel: every known value of every kind has its own
// label in every language.
func TestEveryValueHasALabel(t *testing.T) {
	for kind, values := range i18n.Kinds() {
		for _, v := range values {
			for _, lang := range i18n.Languages() {
				if !i18n.Has(lang, "label."+kind+"."+v) {
					t.Errorf("%s: no label for %s %q", lang, kind, v)
				}
			}
		}
	}
	for _, tc := range []struct{ lang, kind, value, want string }{
		{"de", "legal_basis_article", "consent", "Art. 6 Abs. 1 lit. a DSGVO"},
		{"da", "legal_basis_article", "consent", "artikel 6, stk. 1, litra a, i databeskyttelsesforordningen"},
		{"en", "legal_basis_article", "consent", "Art. 6(1)(a) GDPR"},
		{"de", "consent_state", "withdrawn", "widerrufen"},
		{"da", "case_type", "objection", "Indsigelse (art. 21)"},
		{"xx", "consent_state", "granted", "granted"},
		{"de", "data_category", "free text", "free text"},
	} {
		if got := i18n.Label(tc.lang, tc.kind, tc.value); got != tc.want {
			t.Errorf("Label(%s, %s, %s) = %q, want %q", tc.lang, tc.kind, tc.value, got, tc.want)
		}
	}
}

// TestKindsListEveryDomainValue: the values the domain packages define are
// all listed, so a new enum value without a label fails here.
func TestKindsListEveryDomainValue(t *testing.T) {
	str := func(vs ...ledger.LegalBasis) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = string(v)
		}
		return out
	}
	ev := func(vs ...ledger.EventKind) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = string(v)
		}
		return out
	}
	bases := str(ledger.Consent, ledger.Contract, ledger.LegalObligation, ledger.VitalInterests, ledger.PublicTask, ledger.LegitimateInterests, ledger.ExplicitConsent)
	want := map[string][]string{
		"legal_basis":         bases,
		"legal_basis_article": bases,
		"consent_state":       ev(ledger.Granted, ledger.Withdrawn, ledger.Refused, ledger.Objected, ledger.Pending, ledger.Expired),
		"person_status":       {ledger.StatusActive, ledger.StatusRestricted, ledger.StatusAnonymized},
		"case_type":           {rights.TypeAccess, rights.TypeRectification, rights.TypeErasure, rights.TypeRestriction, rights.TypePortability, rights.TypeObjection, rights.TypeAutomated},
		"case_state":          {rights.StatusReceived, rights.StatusVerified, rights.StatusInProgress, rights.StatusCompleted, rights.StatusRejected},
		"channel":             rights.Channels,
		"recipient_kind":      {rights.KindProcessor, rights.KindController, rights.KindThirdCountry},
		"breach_state":        {breach.StatePending, breach.StateOverdue},
		"breach_status":       {breach.StatusOpen, breach.StatusClosed},
		"breach_entry":        {breach.EntryAuthority, breach.EntryDecision, breach.EntryFollowUp, breach.EntryPersons, breach.EntryPublic, breach.EntryNote},
		"mail_state":          {mail.StatusQueued, mail.StatusSending, mail.StatusSent, mail.StatusCaptured, mail.StatusDead},
		"webhook_state":       {webhook.StatusPending, webhook.StatusDelivered, webhook.StatusFailed},
		"activity_kind":       records.ActivityKinds,
		"record_kind":         records.BusinessKinds,
		"relationship_kind":   records.RelationshipKinds,
		"retention_action":    {retention.ActionAnonymize, retention.ActionDelete},
		"source":              {"staff_entry", "erasure", "retention", "expiry", "api", "import", "self_service", "web_form"},
	}
	kinds := i18n.Kinds()
	for kind, values := range want {
		for _, v := range values {
			if !slices.Contains(kinds[kind], v) {
				t.Errorf("i18n.Kinds()[%q] lacks %q", kind, v)
			}
		}
	}
}
