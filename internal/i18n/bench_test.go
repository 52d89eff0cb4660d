package i18n

import "testing"

// BenchmarkT is one lookup of a page's word: a map access, no allocation.
func BenchmarkT(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = T("de", "contacts.title")
	}
}

// BenchmarkLabel is one value's label.
func BenchmarkLabel(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Label("da", "consent_state", "withdrawn")
	}
}
