package i18n

import "slices"

// Label is the reader's word for an enum value: the catalogue key
// label.<kind>.<value> in lang, else in English, else value itself (the
// label tests make sure every known value has a label in every language).
// It does not allocate.
func Label(lang, kind, value string) string {
	c := cat()
	if s, ok := c.labels[lang][kind][value]; ok {
		return s
	}
	if s, ok := c.labels[Reference][kind][value]; ok {
		return s
	}
	return value
}

// Kinds lists each labelled kind of value (consent_state, legal_basis,
// case_type, audit_action …) with its known values, for tests and for
// pages that offer a choice of them.
func Kinds() map[string][]string {
	out := make(map[string][]string, len(kinds))
	for k, v := range kinds {
		out[k] = slices.Clone(v)
	}
	return out
}
