// Package input holds the parsers every surface (REST API, staff UI, public
// pages, CLI, imports) uses on what comes from outside: CSV files, dates and
// free text. Each answers bad input with an error a person can act on — a
// line number, the format expected — and never panics.
package input

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrText is the reason Text gives for text a database cannot store.
var (
	ErrInvalidUTF8 = errors.New("is not valid UTF-8 text (save the file as UTF-8)")
	ErrNUL         = errors.New("holds a NUL character")
)

// Text reports why s cannot be stored as text: invalid UTF-8 or a NUL
// character (PostgreSQL refuses both; SQLite would keep them and the data
// would break on export or migration). It costs one pass over s.
func Text(s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == 0 {
			return ErrNUL
		}
		if c >= utf8.RuneSelf {
			if !utf8.ValidString(s[i:]) {
				return ErrInvalidUTF8
			}
			if strings.IndexByte(s[i:], 0) >= 0 {
				return ErrNUL
			}
			return nil
		}
	}
	return nil
}

// Quote shows a piece of input in an error message: quoted, cut to 40
// characters, invalid UTF-8 shown as escapes.
func Quote(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return fmt.Sprintf("%q…", string(r[:max]))
	}
	return fmt.Sprintf("%q", s)
}
