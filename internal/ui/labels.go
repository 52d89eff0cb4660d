package ui

import (
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
)

// labelFuncs are the UI's template functions for values that need more
// than one catalogue lookup.
//
//	{{basis .Lang .LegalBasis}}   "Einwilligung (Art. 6 Abs. 1 lit. a DSGVO)"
//	{{sourcename .Lang .}}        a ledger.Source by its name in the reader's language
//	{{actor .Lang .Actor}}        "Mitarbeiter Nr. 3", "System", "API-Token Nr. 2"
//	{{plural .Lang "key" n args…}} i18n.N: the form of key for the count n
//	{{scopes .Lang .Scopes}}      a token's scopes in words, comma-separated
//	{{fieldname .Lang .Key .Label}} a built-in sensitive field in the reader's language, a staff-made one by its label
func labelFuncs() map[string]any {
	return map[string]any{
		"plural":     i18n.N,
		"scopes":     scopesLabel,
		"fieldname":  sensitiveFieldName,
		"basis":      basisLabel,
		"sourcename": sourceName,
		"actor":      actorLabel,
		"actorref": func(lang, ref string) string {
			typ, id, _ := strings.Cut(ref, ":")
			return actorLabel(lang, audit.Actor{Type: typ, ID: id})
		},
	}
}

// basisLabel is the legal basis with its article as the law of lang cites
// it; "" for none.
func basisLabel(lang string, b ledger.LegalBasis) string {
	if b == "" {
		return ""
	}
	return i18n.Label(lang, "legal_basis", string(b)) + " (" + i18n.Label(lang, "legal_basis_article", string(b)) + ")"
}

// actorLabel names who did something in the reader's language.
func actorLabel(lang string, a audit.Actor) string {
	if a.ID == "" || a.Type == "system" {
		return i18n.Label(lang, "actor", a.Type)
	}
	return i18n.T(lang, "actor.numbered", i18n.Label(lang, "actor", a.Type), a.ID)
}

// scopesLabel is a token's scopes in the reader's words.
func scopesLabel(lang string, scopes []string) string {
	var b strings.Builder
	for i, sc := range scopes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(i18n.Label(lang, "scope", sc))
	}
	return b.String()
}

// sensitiveFieldName is a built-in sensitive field's name in the reader's
// language (label.sensitive_field.<key>); a field staff made keeps the
// label they gave it.
func sensitiveFieldName(lang, key, label string) string {
	if s := i18n.Label(lang, "sensitive_field", key); s != key {
		return s
	}
	return label
}
