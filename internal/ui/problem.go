package ui

import (
	"strings"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
)

// problemText is a refused action's message in the reader's language:
// the problem's label (label.problem.<code>), then each field by its
// form label (label.field.<name>) and what is wrong with it. A message
// without a catalogue entry stays the domain's English text rather than
// showing a key. The API keeps the English problem+json.
func problemText(lang string, de *ledger.Error) string {
	if lang == i18n.Reference {
		return de.Detail() // the domain's own English, with its specifics
	}
	var b strings.Builder
	b.WriteString(problemHead(lang, de))
	for i, f := range de.Fields {
		if f.Field == "" {
			continue
		}
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(i18n.Label(lang, "field", f.Field))
		b.WriteString(": ")
		b.WriteString(fieldMessage(lang, f))
	}
	return b.String()
}

// problemHead is the problem's label without its fields, or the domain's
// English message where the catalogue has none.
func problemHead(lang string, de *ledger.Error) string {
	// English readers get the domain's own message, which may name
	// specifics (the address that clashes, the step to take instead).
	if lang != i18n.Reference && i18n.Has(i18n.Reference, "label.problem."+de.Code) && (de.Code != "validation" || len(de.Fields) > 0) {
		label := i18n.Label(lang, "problem", de.Code)
		// Keep what the domain added to its base message, e.g. the
		// value typed: "there is no such purpose: nope".
		base := strings.TrimSuffix(i18n.Label(i18n.Reference, "problem", de.Code), ".")
		if len(de.Message) > len(base) && strings.EqualFold(de.Message[:len(base)], base) && strings.HasPrefix(de.Message[len(base):], ": ") {
			return strings.TrimSuffix(label, ".") + de.Message[len(base):]
		}
		// or the value it quoted: there is no purpose "nope".
		if i := strings.IndexByte(de.Message, '"'); i >= 0 {
			if j := strings.LastIndexByte(de.Message, '"'); j > i {
				return strings.TrimSuffix(label, ".") + ": " + de.Message[i:j+1]
			}
		}
		return label
	}
	return de.Message
}

// fieldMessage is what is wrong with one field, in lang where the
// catalogue has it; numbers in it are formatted for lang.
func fieldMessage(lang string, f ledger.FieldError) string {
	if f.Key == "" || !i18n.Has(i18n.Reference, f.Key) {
		return f.Message
	}
	if f.Args == [2]int{} {
		return i18n.T(lang, f.Key)
	}
	return i18n.T(lang, f.Key, i18n.Number(lang, int64(f.Args[0])), i18n.Number(lang, int64(f.Args[1])))
}
