package i18n

import (
	"regexp"
	"slices"
	"testing"
	"testing/fstest"
)

var verb = regexp.MustCompile(`%[-+# 0]*(\[\d+\])?(\d+|\*)?(\.(\d+|\*))?[a-zA-Z%]`)

func verbs(s string) []string { return verb.FindAllString(s, -1) }

// TestCatalogue: every English key exists in every language, with the same
// placeholders in the same order, no empty text, and complete plurals.
func TestCatalogue(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
	langs := Languages()
	if langs[0] != Reference || !slices.Contains(langs, "de") || !slices.Contains(langs, "da") {
		t.Fatalf("languages = %v", langs)
	}
	en := Keys(Reference)
	for _, lang := range langs {
		keys := Keys(lang)
		for _, k := range keys {
			if !slices.Contains(en, k) {
				t.Errorf("%s: %q is not in the English catalogue", lang, k)
			}
		}
		for _, k := range en {
			if !Has(lang, k) {
				t.Errorf("%s: %q is missing", lang, k)
				continue
			}
			if p := Plural(Reference, k); p != nil {
				q := Plural(lang, k)
				if q == nil {
					t.Errorf("%s: %q must be a plural as in English", lang, k)
					continue
				}
				for _, c := range Categories(lang) {
					if q[c] == "" {
						t.Errorf("%s: plural %q lacks %q", lang, k, c)
					} else if !slices.Equal(verbs(q[c]), verbs(p["other"])) {
						t.Errorf("%s: plural %q/%s has placeholders %v, English %v", lang, k, c, verbs(q[c]), verbs(p["other"]))
					}
				}
				continue
			}
			s := T(lang, k)
			if s == "" {
				t.Errorf("%s: %q is empty", lang, k)
			}
			if got, want := verbs(s), verbs(T(Reference, k)); !slices.Equal(got, want) {
				t.Errorf("%s: %q has placeholders %v, English %v", lang, k, got, want)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	if got := T("de", "nav.contacts"); got != "Kontakte" {
		t.Errorf("de nav.contacts = %q", got)
	}
	if got := T("fr", "nav.contacts"); got != "Contacts" {
		t.Errorf("unknown language does not fall back to English: %q", got)
	}
	if got := T("de", "no.such.key"); got != "no.such.key" {
		t.Errorf("missing key = %q", got)
	}
	if got := T("en", "login.throttled", 30); got != "Too many login attempts. Please try again in 30 s." {
		t.Errorf("args: %q", got)
	}
	if a := testing.AllocsPerRun(100, func() { _ = T("da", "nav.contacts") }); a != 0 {
		t.Errorf("T without args allocates %v times", a)
	}
	if a := testing.AllocsPerRun(100, func() { _ = Label("de", "consent_state", "granted") }); a != 0 {
		t.Errorf("Label allocates %v times", a)
	}
}

func TestPlurals(t *testing.T) {
	fsys := fstest.MapFS{
		"locales/en.json": {Data: []byte(`{"n": {"one": "%d person", "other": "%d persons"}}`)},
		"locales/de.json": {Data: []byte(`{"n": {"one": "%d Person", "other": "%d Personen"}}`)},
		"locales/pl.json": {Data: []byte(`{"n": {"one": "%d osoba", "few": "%d osoby", "many": "%d osób", "other": "%d osoby"}}`)},
	}
	c, err := parse(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang string
		n    int
		want string
	}{{"en", 1, "one"}, {"en", 0, "other"}, {"de", 2, "other"}, {"pl", 3, "few"}, {"pl", 5, "many"}, {"pl", 22, "few"}} {
		if got := category(c.tags[tc.lang], tc.n); got != tc.want {
			t.Errorf("%s %d: %s, want %s", tc.lang, tc.n, got, tc.want)
		}
	}
	bad := fstest.MapFS{
		"locales/en.json": {Data: []byte(`{"n": {"one": "%d person", "other": "%d persons"}}`)},
		"locales/pl.json": {Data: []byte(`{"n": {"one": "%d osoba", "other": "%d osoby"}}`)},
	}
	if _, err := parse(bad); err == nil {
		t.Error("a Polish plural without few and many was accepted")
	}
	if _, err := parse(fstest.MapFS{"locales/en.json": {Data: []byte(`{"a": 1}`)}}); err == nil {
		t.Error("a number as message was accepted")
	}
	if _, err := parse(fstest.MapFS{"locales/en.json": {Data: []byte(`{"a": "x",}`)}}); err == nil {
		t.Error("broken JSON was accepted")
	}
	if got := N("en", "label.consent_state.granted", 3); got != "granted" {
		t.Errorf("N on a plain text = %q", got)
	}
}
