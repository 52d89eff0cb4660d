// Package textcheck holds the rules every text a client sends must meet
// before it is stored: valid UTF-8, no control characters (tab and line
// breaks only in multi-line fields), a length limit per field, ISO 3166-1
// country codes and safe file names. Both database engines then store the
// same texts: PostgreSQL refuses a NUL byte or broken UTF-8 that SQLite
// would keep.
//
// The checks are a byte loop with an ASCII fast path: they sit on the
// import and bulk paths.
package textcheck

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Field limits, in characters (Unicode code points, as JSON Schema's
// maxLength counts).
const (
	MaxName       = 200    // person, organisation, recipient, source and field names; titles; labels
	MaxEmail      = 254    // an e-mail address (RFC 5321 path limit)
	MaxPhone      = 50     // a phone number
	MaxPhoneKind  = 50     // mobile, work, …
	MaxPostalCode = 20     // a postal code
	MaxRegNumber  = 50     // a company registration or VAT number
	MaxShort      = 200    // other one-line values: street, city, registration number, key, user agent
	MaxURL        = 2000   // a URL
	MaxReason     = 2000   // a reason recorded in the audit trail
	MaxNote       = 10000  // notes, descriptions, case notes, purpose texts
	MaxLong       = 100000 // mail templates, long bodies
	MaxFileName   = 255    // an uploaded file's name
	MaxMediaType  = 255    // a media type (RFC 6838 allows 127+1+127)
	MaxQuery      = 200    // a search text
)

// Problem says why a text was refused; OK (zero) means it passed.
type Problem uint8

const (
	OK Problem = iota
	// NotUTF8: the bytes are not valid UTF-8.
	NotUTF8
	// Control: a NUL byte or another control character (C0, DEL or C1).
	Control
	// LineBreak: a tab, CR or LF in a one-line field.
	LineBreak
	// TooLong: more characters than the field allows.
	TooLong
	// PathSeparator: a / or \ in a file name, or a name of only dots.
	PathSeparator
	// Empty: a file name that is empty.
	Empty
)

// Message describes p for a field error; max is the field's limit.
func (p Problem) Message(max int) string {
	switch p {
	case NotUTF8:
		return "is not valid UTF-8 text"
	case Control:
		return "must not contain control characters (such as NUL)"
	case LineBreak:
		return "must be a single line (no line breaks or tabs)"
	case TooLong:
		return fmt.Sprintf("must be at most %d characters", max)
	case PathSeparator:
		return "must be a file name without / or \\"
	case Empty:
		return "is required"
	}
	return ""
}

// Key is the catalogue key (package i18n) of p's message; its one
// argument is the field's limit.
func (p Problem) Key() string {
	switch p {
	case NotUTF8:
		return "field.problem.not_utf8"
	case Control:
		return "field.problem.control"
	case LineBreak:
		return "field.problem.line_break"
	case TooLong:
		return "field.problem.too_long"
	case PathSeparator:
		return "field.problem.path_separator"
	case Empty:
		return "field.problem.required"
	}
	return ""
}

// Line checks a one-line text: valid UTF-8 without control characters
// (no tab, CR or LF either) and at most max characters.
func Line(s string, max int) Problem { return check(s, max, false) }

// Text checks a multi-line text: as Line, but tab, CR and LF are allowed.
func Text(s string, max int) Problem { return check(s, max, true) }

func check(s string, max int, multi bool) Problem {
	if len(s) > 4*max { // more than max characters whatever they are
		return TooLong
	}
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				if c != '\t' && c != '\n' && c != '\r' {
					return Control
				}
				if !multi {
					return LineBreak
				}
			}
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return NotUTF8
		}
		if r >= 0x80 && r <= 0x9f {
			return Control
		}
		i += size
		n++
	}
	if n > max {
		return TooLong
	}
	return OK
}

// Clean makes s a one-line text of at most max characters for a value
// that is recorded rather than refused (e.g. a visitor's user agent):
// broken UTF-8 and control characters become U+FFFD, and the text is cut
// at a character boundary.
func Clean(s string, max int) string {
	if len(s) <= max && Line(s, max) == OK {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s { // a broken byte comes as utf8.RuneError
		if n == max {
			break
		}
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// FileName checks the name of an uploaded file and returns it trimmed of
// surrounding spaces: a name of at most MaxFileName characters without
// control characters, line breaks or path separators, not "." or "..".
func FileName(s string) (string, Problem) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Empty
	}
	if p := Line(s, MaxFileName); p != OK {
		return s, p
	}
	if strings.ContainsAny(s, `/\`) || strings.Trim(s, ".") == "" {
		return s, PathSeparator
	}
	return s, OK
}

// Country returns the ISO 3166-1 alpha-2 code s names, in upper case
// (surrounding spaces are trimmed, lower case is accepted), and whether
// s is one.
func Country(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 2 {
		return s, false
	}
	a, b := s[0]&^0x20, s[1]&^0x20 // ASCII upper case
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' {
		return s, false
	}
	lo, hi := 0, (len(countries)+1)/3 // binary search: the list is sorted
	for lo < hi {
		m := (lo + hi) / 2
		switch x, y := countries[3*m], countries[3*m+1]; {
		case x == a && y == b:
			if s[0] == a && s[1] == b {
				return s, true
			}
			return string([]byte{a, b}), true
		case x < a || (x == a && y < b):
			lo = m + 1
		default:
			hi = m
		}
	}
	return s, false
}

// Countries lists the ISO 3166-1 alpha-2 codes, sorted.
func Countries() []string { return strings.Fields(countries) }

// countries holds the 249 officially assigned ISO 3166-1 alpha-2 codes.
const countries = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"YE YT " +
	"ZA ZM ZW"
