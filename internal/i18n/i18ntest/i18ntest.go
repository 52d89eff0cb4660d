// Package i18ntest finds what a reader of German or Danish must never see
// in a page, mail, report or export: a catalogue key, an enum value shown
// as such, or a sentence of the English catalogue. Tests of every surface
// call Check on what they render.
package i18ntest

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/consento/consento/internal/i18n"
)

// Problem is one thing a reader should not see.
type Problem struct {
	Kind string // "key", "value" or "english"
	What string // the key, value or English text found
}

type index struct {
	keys    map[string]bool            // catalogue keys (with a dot)
	values  map[string]string          // snake_case enum values → kind
	english map[string][]string        // lang → English texts not used in that language
	words   map[string]map[string]bool // lang → English one-word labels not used in that language
}

var idx = sync.OnceValue(func() *index {
	x := &index{keys: map[string]bool{}, values: map[string]string{}, english: map[string][]string{}, words: map[string]map[string]bool{}}
	for _, k := range i18n.Keys("en") {
		x.keys[k] = true
	}
	for kind, vs := range i18n.Kinds() {
		for _, v := range vs {
			if strings.Contains(v, "_") || strings.Contains(v, ".") {
				x.values[v] = kind
			}
		}
	}
	for _, lang := range i18n.Languages() {
		if lang == "en" {
			continue
		}
		for _, k := range i18n.Keys("en") {
			en := i18n.T("en", k)
			if en == i18n.T(lang, k) {
				continue // the same word in both languages (Status, Name, API)
			}
			for _, part := range placeholder.Split(en, -1) {
				part = strings.TrimSpace(part)
				if len(strings.Fields(part)) >= 3 && len(part) >= 16 {
					x.english[lang] = append(x.english[lang], part)
				}
			}
		}
		slices.Sort(x.english[lang])
		x.english[lang] = slices.Compact(x.english[lang])
		x.words[lang] = englishWords(lang)
	}
	return x
})

// englishWords are the English labels (label.* in en.json) of one word of
// at least four letters that lang labels otherwise and that no text of
// lang's catalogue uses as a word: "Granted", "Contract", "Pending" in a
// German page are English. A word the language shares ("Status",
// "Newsletter") is in its catalogue and so not listed.
func englishWords(lang string) map[string]bool {
	own := map[string]bool{}
	for _, k := range i18n.Keys(lang) {
		if !i18n.Has(lang, k) {
			continue
		}
		texts := []string{i18n.T(lang, k)}
		for _, f := range i18n.Plural(lang, k) {
			texts = append(texts, f)
		}
		for _, t := range texts {
			for _, w := range wordRe.FindAllString(t, -1) {
				own[w] = true
			}
		}
	}
	out := map[string]bool{}
	for _, k := range i18n.Keys("en") {
		if !strings.HasPrefix(k, "label.") {
			continue
		}
		en := i18n.T("en", k)
		if wordRe.FindString(en) != en || letters(en) < 4 || en == i18n.T(lang, k) || own[en] {
			continue
		}
		out[en] = true
	}
	return out
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

var (
	// wordRe is a word: letters and digits, joined by hyphens ("E-mail").
	wordRe      = regexp.MustCompile(`\p{L}[\p{L}\p{N}]*(?:-[\p{L}\p{N}]+)*`)
	placeholder = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]|\n`)
	token       = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)+`)
)

// Find lists the problems in text, a rendering for a reader of lang. The
// allowed words are ignored (e.g. a purpose key the staff chose, shown on
// purpose in a settings table).
func Find(lang, text string, allowed ...string) []Problem {
	x := idx()
	var ps []Problem
	seen := map[string]bool{}
	add := func(kind, what string) {
		if !seen[kind+what] && !slices.Contains(allowed, what) {
			seen[kind+what] = true
			ps = append(ps, Problem{kind, what})
		}
	}
	for _, m := range token.FindAllStringIndex(text, -1) {
		w := text[m[0]:m[1]]
		// Part of an address, a URL or a file name: not a word for the reader.
		if m[0] > 0 && strings.ContainsAny(text[m[0]-1:m[0]], "@/.:-=") || m[1] < len(text) && strings.ContainsAny(text[m[1]:m[1]+1], "@/(") {
			continue
		}
		switch {
		case x.keys[w]:
			add("key", w)
		case x.values[w] != "":
			add("value", w)
		}
	}
	if lang != "en" {
		flat := strings.Join(strings.Fields(text), " ")
		for _, en := range x.english[lang] {
			if strings.Contains(flat, en) {
				add("english", en)
			}
		}
		if words := x.words[lang]; len(words) > 0 {
			for _, m := range wordRe.FindAllStringIndex(text, -1) {
				w := text[m[0]:m[1]]
				// Part of an address, a URL, a file name or a key: not a word for the reader.
				if m[0] > 0 && strings.ContainsAny(text[m[0]-1:m[0]], "@/.:=_") || m[1] < len(text) && strings.ContainsAny(text[m[1]:m[1]+1], "@/_.(") && m[1]+1 < len(text) && text[m[1]+1] != ' ' {
					continue
				}
				if words[w] {
					add("english", w)
				}
			}
		}
	}
	return ps
}

// Check fails t for every problem in text; where names the rendering
// ("contact card, de").
func Check(t testing.TB, lang, where, text string, allowed ...string) {
	t.Helper()
	for _, p := range Find(lang, text, allowed...) {
		switch p.Kind {
		case "key":
			t.Errorf("%s: shows the catalogue key %q", where, p.What)
		case "value":
			t.Errorf("%s: shows the value %q instead of its label", where, p.What)
		default:
			t.Errorf("%s: shows English text %q", where, p.What)
		}
	}
}

// VisibleText is the text a reader sees in an HTML page: the tags, scripts,
// styles, the contents of text areas (data being edited, like input values)
// and attribute values other than title, alt, placeholder,
// aria-label and value of buttons are dropped. So is raw data shown only
// on demand, byte for byte as stored, in a <pre class="raw"> block (the
// audit log's technical details): it is data, not words for the reader.
func VisibleText(html string) string {
	html = dropBlocks.ReplaceAllString(html, " ")
	var b strings.Builder
	for _, m := range tagOrText.FindAllStringSubmatch(html, -1) {
		if m[1] == "" {
			b.WriteString(unescape(m[0]))
			continue
		}
		for _, a := range readAttr.FindAllStringSubmatch(m[1], -1) {
			b.WriteString(" " + unescape(a[2]) + " ")
		}
		b.WriteString(" ")
	}
	return b.String()
}

var (
	dropBlocks = regexp.MustCompile(`(?is)<(script|style|template|textarea)\b.*?</(script|style|template|textarea)>|<!--.*?-->|<pre\s[^>]*\bclass="(?:[^"]*\s)?raw(?:\s[^"]*)?"[^>]*>.*?</pre>`)
	tagOrText  = regexp.MustCompile(`(?s)<([^>]*)>|[^<]+`)
	readAttr   = regexp.MustCompile(`(?i)\b(title|alt|placeholder|aria-label)="([^"]*)"`)
	unescape   = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&quot;", `"`, "&#39;", "'", "&nbsp;", " ").Replace
)
