package i18n

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
