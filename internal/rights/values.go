package rights

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Erased stands where a personal value was in a kept text.
const Erased = "[erased]"

// Which values a level-3 erasure replaces in the texts it keeps (business
// records):
//
//   - every value the person ever had, not only the current one: names,
//     e-mail addresses, phone numbers, street, postal code and city, as
//     the person's audit events (person.create, person.update, self-service
//     requests) recorded them before the erasure destroys the audit key,
//     plus the requester addresses of their cases and the corrections they
//     asked for;
//   - a value of several words (a full name, a street with its number, an
//     e-mail address, a phone number) wherever it occurs, ignoring case;
//   - each word of a value on its own (a first or last name, a street name,
//     a city, a postal code, the part of an e-mail address before the @, a
//     group of digits of a phone number) where it stands as a whole word,
//     ignoring case: "Berg" goes from "Mrs Berg's order", not from
//     "Bergamo". A word needs at least minLetters characters, or minDigits
//     when it is all digits (a postal code or part of a phone number goes,
//     a house number alone does not), and is not one of the common words
//     below: the kinds of street, name particles and mailbox names such as
//     "info", which would otherwise cut words out of records that never
//     named the person. The domain of an e-mail address is never replaced
//     on its own.
const (
	minLetters = 3
	minDigits  = 4
)

// commonWords are never replaced on their own (only inside a whole value).
var commonWords = wordSet(`
		street st str road rd lane avenue ave way drive place square court close park hill gardens row
		straße strasse weg gasse allee platz ring damm ufer chaussee markt pfad steig
		vej gade allé alle plads torv stræde vænge have
		nord süd sud ost west north south east neu alt old new upper lower bad sankt saint san santa city town
		von van vom der den des del della dem die das the and und og zu zum zur ten ter
		info mail email post kontakt contact office admin hello hallo service sales team support noreply no-reply mailbox`)

func wordSet(list string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}

// snapshot is what one audit event or correction recorded of a person.
type snapshot struct {
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Emails    []string `json:"emails"`
	Phones    []struct {
		Number string `json:"number"`
	} `json:"phones"`
	Address struct {
		Street     string `json:"street"`
		PostalCode string `json:"postal_code"`
		City       string `json:"city"`
	} `json:"address"`
}

// correction is a rectification the person asked for on their preference
// page (outreach.Contact, encoded with its Go field names).
type correction struct {
	FirstName, LastName, Street, PostalCode, City, Email string
}

// values collects a person's personal values, current and earlier.
type values struct {
	whole map[string]bool // matched anywhere
	words map[string]bool // matched as whole words (lower case)
}

func newValues() *values { return &values{whole: map[string]bool{}, words: map[string]bool{}} }

// name adds a first or last name, or both in one.
func (v *values) name(s string) { v.add(s, false) }

// address adds a street, postal code or city.
func (v *values) address(s string) { v.add(s, false) }

// phone adds a phone number.
func (v *values) phone(s string) { v.add(s, false) }

// email adds an e-mail address: whole, and the words before the @.
func (v *values) email(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	v.addWhole(s)
	if at := strings.LastIndexByte(s, '@'); at > 0 {
		v.add(s[:at], true)
	}
}

func (v *values) addWhole(s string) {
	if utf8.RuneCountInString(s) >= minLetters {
		v.whole[s] = true
	}
}

// add takes s as a whole value when it has more than one word, and each of
// its words on its own.
func (v *values) add(s string, local bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	ws := strings.FieldsFunc(s, func(r rune) bool { return !isWordRune(r) })
	if len(ws) != 1 || ws[0] != s {
		if !local {
			v.addWhole(s)
		}
	}
	for _, w := range ws {
		lw := strings.ToLower(w)
		n := utf8.RuneCountInString(w)
		if commonWords[lw] || n < minLetters || allDigits(w) && n < minDigits {
			continue
		}
		v.words[lw] = true
	}
}

func (v *values) snapshot(s *snapshot) {
	v.name(s.FirstName)
	v.name(s.LastName)
	if s.FirstName != "" && s.LastName != "" {
		v.name(strings.TrimSpace(s.FirstName) + " " + strings.TrimSpace(s.LastName))
	}
	for _, e := range s.Emails {
		v.email(e)
	}
	for _, p := range s.Phones {
		v.phone(p.Number)
	}
	v.address(s.Address.Street)
	v.address(s.Address.PostalCode)
	v.address(s.Address.City)
}

// person takes the values of a person as an audit payload recorded them
// (before or after a change).
func (v *values) person(raw json.RawMessage) {
	var s snapshot
	if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &s) == nil {
		v.snapshot(&s)
	}
}

// request takes the correction of a self-service request as its audit
// payload recorded it.
func (v *values) request(raw json.RawMessage) {
	var req struct {
		Payload json.RawMessage `json:"payload"`
	}
	if len(raw) > 0 && raw[0] == '{' && json.Unmarshal(raw, &req) == nil {
		v.correction(req.Payload)
	}
}

// correction takes the values of a self-service correction's payload.
func (v *values) correction(raw json.RawMessage) {
	var c correction
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &c) != nil {
		return
	}
	v.snapshot(&snapshot{FirstName: c.FirstName, LastName: c.LastName, Emails: nonEmpty(c.Email)})
	v.address(c.Street)
	v.address(c.PostalCode)
	v.address(c.City)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func allDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// list is the whole values, sorted.
func (v *values) list() []string {
	out := make([]string, 0, len(v.whole))
	for s := range v.whole {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// scrubber replaces a person's values in text.
type scrubber struct {
	whole, words *regexp.Regexp
}

// alternation is a case-insensitive regexp matching any of vs, longest
// first (so that a longer value wins over its prefix at one position).
func alternation(vs []string) *regexp.Regexp {
	if len(vs) == 0 {
		return nil
	}
	sort.Slice(vs, func(i, j int) bool {
		if len(vs[i]) != len(vs[j]) {
			return len(vs[i]) > len(vs[j])
		}
		return vs[i] < vs[j]
	})
	q := make([]string, len(vs))
	for i, s := range vs {
		q[i] = regexp.QuoteMeta(s)
	}
	return regexp.MustCompile(`(?i)(?:` + strings.Join(q, "|") + `)`)
}

func (v *values) scrubber() *scrubber {
	words := make([]string, 0, len(v.words))
	for w := range v.words {
		words = append(words, w)
	}
	return &scrubber{whole: alternation(v.list()), words: alternation(words)}
}

// scrub replaces every value in text by Erased (nothing for a nil
// scrubber).
func (s *scrubber) scrub(text string) string {
	if s == nil || text == "" {
		return text
	}
	if s.whole != nil {
		text = s.whole.ReplaceAllLiteralString(text, Erased)
	}
	if s.words == nil {
		return text
	}
	var b strings.Builder
	last := 0
	for pos := 0; pos < len(text); {
		loc := s.words.FindStringIndex(text[pos:])
		if loc == nil {
			break
		}
		i, j := pos+loc[0], pos+loc[1]
		if j == i { // cannot happen with non-empty words; never loop
			break
		}
		r0, _ := utf8.DecodeLastRuneInString(text[:i])
		r1, _ := utf8.DecodeRuneInString(text[j:])
		if (i == 0 || !isWordRune(r0)) && (j == len(text) || !isWordRune(r1)) {
			b.WriteString(text[last:i])
			b.WriteString(Erased)
			last, pos = j, j
			continue
		}
		// Inside a longer word: a shorter value cannot stand alone here
		// either (words are runs of letters and digits), so move on.
		_, n := utf8.DecodeRuneInString(text[i:])
		pos = i + n
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}
