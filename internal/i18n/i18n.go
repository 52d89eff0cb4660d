// Package i18n holds every word Consento shows or sends, in one embedded
// catalogue file per language (locales/<lang>.json), and formats dates,
// numbers and amounts the way readers of that language expect.
//
// English is the reference language: a key missing in a language falls
// back to English, a key missing everywhere comes back as the key itself
// (the catalogue tests catch both). Adding a language is adding a file;
// plural rules come from CLDR through golang.org/x/text.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

// Reference is the reference language: every key exists in it.
const Reference = "en"

//go:embed locales/*.json
var files embed.FS

// catalogue is every language's messages, read once from the embedded files.
type catalogue struct {
	langs   []string
	tags    map[string]language.Tag
	msgs    map[string]map[string]string            // lang → key → text
	plurals map[string]map[string]map[string]string // lang → key → category → text
	labels  map[string]map[string]map[string]string // lang → kind → value → label
}

// load reads and checks the embedded catalogues.
var load = sync.OnceValues(func() (*catalogue, error) { return parse(files) })

// Check loads the catalogues and reports the first problem: a file that is
// not valid JSON, a language CLDR does not know, a value that is neither a
// string nor a plural object, or a plural that lacks a category the
// language needs. Call it once at start.
func Check() error {
	_, err := load()
	return err
}

func cat() *catalogue {
	c, err := load()
	if err != nil {
		return &catalogue{}
	}
	return c
}

func parse(fsys fs.FS) (*catalogue, error) {
	entries, err := fs.ReadDir(fsys, "locales")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	c := &catalogue{tags: map[string]language.Tag{}, msgs: map[string]map[string]string{},
		plurals: map[string]map[string]map[string]string{}, labels: map[string]map[string]map[string]string{}}
	for _, e := range entries {
		name := e.Name()
		if path.Ext(name) != ".json" {
			continue
		}
		lang := strings.TrimSuffix(name, ".json")
		tag, err := language.Parse(lang)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: not a language code: %w", name, err)
		}
		b, err := fs.ReadFile(fsys, "locales/"+name)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		need := Categories(lang)
		msgs := make(map[string]string, len(raw))
		plurals := map[string]map[string]string{}
		labels := map[string]map[string]string{}
		for key, v := range raw {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				msgs[key] = s
				if rest, ok := strings.CutPrefix(key, "label."); ok {
					kind, value, ok := strings.Cut(rest, ".")
					if ok {
						if labels[kind] == nil {
							labels[kind] = map[string]string{}
						}
						labels[kind][value] = s
					}
				}
				continue
			}
			var forms map[string]string
			if err := json.Unmarshal(v, &forms); err != nil {
				return nil, fmt.Errorf("i18n: %s: %q is neither a text nor a plural object", name, key)
			}
			for f := range forms {
				if !slices.Contains(pluralNames[:], f) {
					return nil, fmt.Errorf("i18n: %s: %q has the plural category %q; CLDR knows zero, one, two, few, many, other", name, key, f)
				}
			}
			for _, f := range need {
				if _, ok := forms[f]; !ok {
					return nil, fmt.Errorf("i18n: %s: plural %q lacks the category %q that %s needs", name, key, f, lang)
				}
			}
			plurals[key] = forms
		}
		c.langs = append(c.langs, lang)
		c.tags[lang] = tag
		c.msgs[lang] = msgs
		c.plurals[lang] = plurals
		c.labels[lang] = labels
	}
	if c.msgs[Reference] == nil {
		return nil, fmt.Errorf("i18n: no catalogue for the reference language %s", Reference)
	}
	slices.Sort(c.langs)
	i := slices.Index(c.langs, Reference)
	c.langs = append([]string{Reference}, slices.Delete(c.langs, i, i+1)...)
	return c, nil
}

// T is the message key in lang, formatted with args (fmt verbs as in the
// catalogue). A key lang lacks falls back to English, a key English lacks
// comes back as the key itself. Without args T does not allocate.
func T(lang, key string, args ...any) string {
	c := cat()
	s, ok := c.msgs[lang][key]
	if !ok {
		if s, ok = c.msgs[Reference][key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// N is the plural message key in lang for the count n: the CLDR category of
// n in lang picks the form. The form is formatted with args, or with n
// alone when there are no args. A plain text under key serves every count.
func N(lang, key string, n int, args ...any) string {
	c := cat()
	forms, ok := c.plurals[lang][key]
	if !ok {
		forms, ok = c.plurals[Reference][key]
	}
	var s string
	if ok {
		f := category(c.tags[lang], n)
		if s, ok = forms[f]; !ok {
			s = forms["other"]
		}
	} else {
		s = T(lang, key)
		if s == key {
			return key
		}
	}
	if len(args) == 0 {
		if !strings.Contains(s, "%") {
			return s
		}
		args = []any{n}
	}
	return fmt.Sprintf(s, args...)
}

// Has reports whether lang's own catalogue has key (no fallback).
func Has(lang, key string) bool {
	c := cat()
	if _, ok := c.msgs[lang][key]; ok {
		return true
	}
	_, ok := c.plurals[lang][key]
	return ok
}

// Supported reports whether there is a catalogue for lang.
func Supported(lang string) bool {
	_, ok := cat().msgs[lang]
	return ok
}

// Languages lists the catalogue languages, English first, then by code.
func Languages() []string { return slices.Clone(cat().langs) }

// Keys lists lang's keys, sorted (texts and plurals).
func Keys(lang string) []string {
	c := cat()
	keys := make([]string, 0, len(c.msgs[lang])+len(c.plurals[lang]))
	for k := range c.msgs[lang] {
		keys = append(keys, k)
	}
	for k := range c.plurals[lang] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Plural is the plural forms of key in lang by CLDR category, or nil when
// key is not a plural there.
func Plural(lang, key string) map[string]string {
	f := cat().plurals[lang][key]
	if f == nil {
		return nil
	}
	out := make(map[string]string, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out
}

var pluralNames = [...]string{plural.Other: "other", plural.Zero: "zero", plural.One: "one", plural.Two: "two", plural.Few: "few", plural.Many: "many"}

func category(tag language.Tag, n int) string {
	if n < 0 {
		n = -n
	}
	f := plural.Cardinal.MatchPlural(tag, n%10000000, 0, 0, 0, 0)
	if int(f) < len(pluralNames) && pluralNames[f] != "" {
		return pluralNames[f]
	}
	return "other"
}

// Categories lists the CLDR plural categories whole numbers take in lang:
// the forms every plural message in lang's catalogue must have.
func Categories(lang string) []string {
	tag, err := language.Parse(lang)
	if err != nil {
		return []string{"other"}
	}
	seen := map[string]bool{}
	for n := 0; n <= 1000; n++ {
		seen[category(tag, n)] = true
	}
	seen[category(tag, 1000000)] = true
	var out []string
	for _, name := range pluralNames {
		if seen[name] {
			out = append(out, name)
		}
	}
	return out
}
