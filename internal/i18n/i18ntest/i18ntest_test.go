package i18ntest

import (
	"slices"
	"strings"
	"testing"

	"github.com/consento/consento/internal/i18n"
)

func TestFind(t *testing.T) {
	sentence := i18n.T("en", "login.failed")
	for _, c := range []struct {
		lang, text string
		want       []Problem
	}{
		{"de", "Quelle: web_form", []Problem{{"value", "web_form"}}},
		{"de", "Rechtsgrundlage: legitimate_interests", []Problem{{"value", "legitimate_interests"}}},
		{"da", "Overskrift card.legal", []Problem{{"key", "card.legal"}}},
		{"de", "Fehler: " + sentence, []Problem{{"english", sentence}}},
		{"en", "Error: " + sentence, nil},
		{"de", "anna.berg@web_form.example und https://x.example/web_form/a", nil},
		{"de", i18n.T("de", "login.failed"), nil},
		{"de", "Quelle: web_form", nil}, // allowed below
	} {
		var allowed []string
		if c.want == nil && c.text == "Quelle: web_form" {
			allowed = []string{"web_form"}
		}
		got := Find(c.lang, c.text, allowed...)
		if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
			t.Errorf("Find(%s, %q) = %v, want %v", c.lang, c.text, got, c.want)
		}
	}
}

func TestVisibleText(t *testing.T) {
	got := VisibleText(`<html><head><style>.a_b{}</style><script>var web_form=1</script></head><body><p class="card_x">Quelle &amp; Zweck</p><input placeholder="Suche" name="q_x"><!-- web_form --></body></html>`)
	for _, w := range []string{"Quelle & Zweck", "Suche"} {
		if !contains(got, w) {
			t.Errorf("visible text %q lacks %q", got, w)
		}
	}
	for _, w := range []string{"web_form", "card_x", "q_x", ".a_b"} {
		if contains(got, w) {
			t.Errorf("visible text %q holds %q", got, w)
		}
	}
}

// Raw data shown on demand in <pre class="raw"> is not read as words; any
// other <pre> is.
func TestVisibleTextSkipsRawData(t *testing.T) {
	got := VisibleText(`<details><summary>Technische Details</summary><pre class="raw">{"legal_basis": "consent"}</pre></details><pre class="mail">Guten Tag</pre><pre>web_form</pre>`)
	for _, w := range []string{"Technische Details", "Guten Tag", "web_form"} {
		if !contains(got, w) {
			t.Errorf("visible text %q lacks %q", got, w)
		}
	}
	if contains(got, "legal_basis") || contains(got, "consent") {
		t.Errorf("visible text %q holds the raw data", got)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestFindSingleEnglishLabelWords(t *testing.T) {
	granted := i18n.Label("en", "consent_state", "granted")
	if granted == i18n.Label("de", "consent_state", "granted") || granted == i18n.Label("da", "consent_state", "granted") {
		t.Skip("the label is the same word in German or Danish")
	}
	for _, c := range []struct {
		lang, text string
		want       bool
	}{
		{"de", "Status: " + granted, true},
		{"da", "Status: " + granted + ".", true},
		{"en", "Status: " + granted, false},
		{"de", "Status: " + i18n.Label("de", "consent_state", "granted"), false},
		{"de", "Status: " + strings.ToUpper(granted), false}, // case-sensitive
		{"de", "Status: " + granted + "er", false},           // whole words only
		{"de", "https://x.example/" + granted + "/a", false},
	} {
		got := slices.Contains(Find(c.lang, c.text), Problem{"english", granted})
		if got != c.want {
			t.Errorf("Find(%s, %q) finds %q: %v, want %v", c.lang, c.text, granted, got, c.want)
		}
	}
}
