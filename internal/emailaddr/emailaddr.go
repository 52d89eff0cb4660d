// Package emailaddr reads e-mail addresses as people type and paste them
// and decides when two spellings name one mailbox.
//
// Two functions, for two jobs:
//
//   - Normalize returns the address Consento stores and sends to: trimmed,
//     reduced from a pasted "Name <address>" to the address, the local
//     part in Unicode NFC and lower case, the domain validated by IDNA 2008
//     and kept in its Unicode form (bücher.de, never xn--bcher-kva.de),
//     lower case. Plus tags and dots stay as the person gave them.
//   - Key returns the mailbox key that matching uses (duplicates, the
//     erasure blocklist): the normalized address with the domain in ASCII
//     (punycode), a "+tag" removed from the local part, and for Gmail
//     (gmail.com, googlemail.com) the dots of the local part removed and
//     the domain written gmail.com. The key errs on the side of matching:
//     an erased person must not come back as anna+news@.
//
// Local parts are treated as case-insensitive, as practically every mail
// provider does, although RFC 5321 allows a server to tell them apart.
package emailaddr

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Limits of RFC 5321 (4.5.3.1) on the address in its ASCII form, and of
// the text a person may paste around it.
const (
	MaxLength      = 254
	MaxLocalLength = 64
	maxInput       = 1024
)

// Errors of Normalize. Each reads as the end of "the e-mail address …".
var (
	ErrEmpty    = errors.New("is empty")
	ErrTooLong  = errors.New("is too long for an e-mail address (at most 254 characters, 64 before the @)")
	ErrSyntax   = errors.New("is not a valid e-mail address")
	ErrMultiple = errors.New("contains more than one e-mail address; give one")
	ErrGroup    = errors.New("is a group of addresses (name: a, b;); give one e-mail address")
	ErrDomain   = errors.New("is not a valid e-mail address: the part after the @ is not a valid domain name")
)

// profile checks and maps domains: IDNA 2008 (RFC 5891 section 5, with
// the UTS #46 mapping) as for a lookup, because the domain comes from
// what a person typed, which may be upper case or full-width and needs
// mapping, not the refusal the registration profile gives. Labels must
// be letters, digits and hyphens (STD3), pass the bidi and joiner rules,
// and fit DNS's lengths. Non-transitional: ß stays ß, as in IDNA 2008.
var profile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// Normalize validates an address and returns its stored form. It accepts
// a bare address or a name-addr ("Anna Berg <anna@example.com>", also
// with a quoted name or comments) and refuses groups and lists.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrEmpty
	}
	if len(s) > maxInput {
		return "", ErrTooLong
	}
	if out, ok := fastNormalize(s); ok {
		return out, nil
	}
	return slowNormalize(s)
}

// Key returns the mailbox key of an address (see the package comment).
func Key(s string) (string, error) {
	n, err := Normalize(s)
	if err != nil {
		return "", err
	}
	return KeyOf(n), nil
}

// KeyOf returns the mailbox key of an address Normalize returned.
func KeyOf(n string) string {
	at := strings.LastIndexByte(n, '@')
	if at < 0 {
		return n
	}
	local, domain := n[:at], n[at+1:]
	if !isASCII(domain) {
		a, err := profile.ToASCII(domain)
		if err != nil {
			return n // not a normalized address; nothing to fold
		}
		domain = a
	}
	gmail := domain == "gmail.com" || domain == "googlemail.com"
	plus := strings.IndexByte(local, '+')
	if plus < 0 && !gmail && len(domain) == len(n)-at-1 {
		return n // the common case: the key is the address itself
	}
	if plus > 0 {
		// "anna.+news" keeps "anna": a local part never ends in a dot.
		if base := strings.TrimRight(local[:plus], "."); base != "" {
			local = base
		}
	}
	if gmail {
		local = strings.ReplaceAll(local, ".", "")
		domain = "gmail.com"
	}
	return local + "@" + domain
}

// LegacyForms returns the spellings under which older versions of
// Consento stored and blocklisted the address n (Normalize's result):
// they lowercased what was typed, so the domain may have been given in
// Unicode or in punycode.
func LegacyForms(n string) []string {
	at := strings.LastIndexByte(n, '@')
	if at < 0 || isASCII(n[at+1:]) {
		return []string{n}
	}
	a, err := profile.ToASCII(n[at+1:])
	if err != nil {
		return []string{n}
	}
	return []string{n, n[:at+1] + a}
}

// ASCII returns the address with its domain in ASCII (punycode), as an
// SMTP server without SMTPUTF8 needs it: anna@bücher.de is sent to
// anna@xn--bcher-kva.de. Anything else is returned unchanged.
func ASCII(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || isASCII(addr[at+1:]) {
		return addr
	}
	a, err := profile.ToASCII(addr[at+1:])
	if err != nil {
		return addr
	}
	return addr[:at+1] + a
}

// fastNormalize handles the common plain ASCII address without any IDNA
// or Unicode work; ok is false when the slow path must decide.
func fastNormalize(s string) (string, bool) {
	at := -1
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '@':
			if at >= 0 {
				return "", false
			}
			at = i
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= utf8.RuneSelf:
			return "", false
		}
	}
	if at < 1 || at > MaxLocalLength || len(s) > MaxLength {
		return "", false
	}
	if !asciiDotAtom(s[:at]) || !ldhDomain(s[at+1:]) {
		return "", false
	}
	if upper {
		s = strings.ToLower(s)
	}
	return s, true
}

// asciiDotAtom reports whether s is a dot-atom of RFC 5322 atext.
func asciiDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' {
				return false
			}
			continue
		}
		if !atext(c) {
			return false
		}
	}
	return true
}

func atext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// ldhDomain reports whether s is a domain of at least two labels of
// letters, digits and hyphens that IDNA would pass unchanged but for
// case: no label of the form ab--… (that includes punycode's xn--).
func ldhDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := 0
	for len(s) > 0 {
		l := s
		if dot := strings.IndexByte(s, '.'); dot >= 0 {
			l, s = s[:dot], s[dot+1:]
			if s == "" {
				return false // trailing dot
			}
		} else {
			s = ""
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || len(l) >= 4 && l[2] == '-' && l[3] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
		labels++
	}
	return labels >= 2
}

func slowNormalize(s string) (string, error) {
	spec := s
	if strings.ContainsAny(s, "<>\"(),:;\\ \t\r\n") || strings.HasPrefix(s, "=?") {
		if err := topLevel(s); err != nil {
			return "", err
		}
		a, err := mail.ParseAddress(s)
		if err != nil {
			if l, lerr := mail.ParseAddressList(s); lerr == nil && len(l) > 1 {
				return "", ErrMultiple
			}
			return "", ErrSyntax
		}
		spec = a.Address
	}
	at := strings.LastIndexByte(spec, '@')
	if at < 1 || at == len(spec)-1 || strings.IndexByte(spec, '@') != at {
		return "", ErrSyntax
	}
	local, domain := spec[:at], spec[at+1:]
	if !utf8.ValidString(local) || !utf8.ValidString(domain) {
		return "", ErrSyntax
	}
	local = norm.NFC.String(strings.ToLower(norm.NFC.String(local)))
	if !dotAtom(local) {
		return "", ErrSyntax
	}
	if strings.HasSuffix(domain, ".") || !strings.ContainsAny(domain, ".。．｡") {
		return "", ErrSyntax // no dot: not a domain people can be mailed at
	}
	ascii, err := profile.ToASCII(domain)
	if err != nil {
		return "", ErrDomain
	}
	// The dot test again after mapping: "｡" and "．" become dots, so a
	// domain typed as "ｼ｡" ends in one only now.
	if !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") || strings.HasPrefix(ascii, ".") || strings.Contains(ascii, "..") {
		return "", ErrSyntax
	}
	if len(local) > MaxLocalLength || len(local)+1+len(ascii) > MaxLength {
		return "", ErrTooLong
	}
	uni, err := profile.ToUnicode(ascii)
	if err != nil {
		return "", ErrDomain
	}
	return local + "@" + uni, nil
}

// dotAtom reports whether s is a dot-atom of atext and, as RFC 6532
// allows, printable non-ASCII characters (no controls, no invisible
// format characters, no spaces).
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	prevDot := false
	for _, r := range s {
		switch {
		case r == '.':
			if prevDot {
				return false
			}
			prevDot = true
			continue
		case r < utf8.RuneSelf:
			if !atext(byte(r)) {
				return false
			}
		case r == utf8.RuneError || !unicode.IsGraphic(r) || unicode.IsSpace(r):
			return false
		}
		prevDot = false
	}
	return true
}

// SplitList splits a list of addresses (an import's cell: "a@x.de;
// b@y.de") at the commas and semicolons that stand outside quoted
// strings, comments and angle brackets, so that "Berg, Anna"
// <anna@example.com> stays one address. Empty items are dropped.
func SplitList(s string) []string {
	var out []string
	add := func(item string) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	start := 0
	scan(s, func(i int, c byte) bool {
		if c == ',' || c == ';' {
			add(s[start:i])
			start = i + 1
		}
		return true
	})
	add(s[start:])
	return out
}

// scan calls fn with every byte of s that stands outside quoted strings,
// comments and angle brackets, until fn returns false.
func scan(s string, fn func(i int, c byte) bool) {
	depth, quoted, angle, escaped := 0, false, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\' && (quoted || depth > 0):
			escaped = true
		case quoted:
			quoted = c != '"'
		case depth > 0:
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case angle:
			angle = c != '>'
		case c == '<':
			angle = true
		default:
			if !fn(i, c) {
				return
			}
		}
	}
}

// topLevel refuses group syntax (a display name followed by a colon) and
// lists: it looks for ':', ';' and ',' outside quoted strings, comments
// and angle brackets.
func topLevel(s string) error {
	var err error
	scan(s, func(_ int, c byte) bool {
		switch c {
		case ':', ';':
			err = ErrGroup
		case ',':
			err = ErrMultiple
		}
		return err == nil
	})
	return err
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
