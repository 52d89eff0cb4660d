package store

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrInvalidText refuses a text argument with a NUL byte or broken UTF-8.
// PostgreSQL cannot store such a text (SQLSTATE 22021) while SQLite would
// keep it: the writer refuses it on both engines, so that they agree. The
// domain packages check their inputs before they get here (with the field
// named); this is the net below them.
var ErrInvalidText = errors.New("store: a text holds a NUL byte or is not valid UTF-8")

// TextError is ErrInvalidText for a named input field, for a package
// below the domain error type (audit) that checks a client's filter.
type TextError struct {
	Field   string
	Message string
}

func (e *TextError) Error() string        { return "store: " + e.Field + ": " + e.Message }
func (e *TextError) Is(target error) bool { return target == ErrInvalidText }

// IsInvalidText reports whether err is ErrInvalidText or PostgreSQL's
// refusal of such a text (e.g. in a search a client sent).
func IsInvalidText(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidText) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "22021" || pe.Code == "22P05" // character_not_in_repertoire, untranslatable_character
	}
	return strings.Contains(err.Error(), "(SQLSTATE 22021)")
}

// checkText returns ErrInvalidText when a string argument could not be
// stored by PostgreSQL. Cheap: one byte search and a UTF-8 check with an
// ASCII fast path per string.
func checkText(args []any) error {
	for _, a := range args {
		var s string
		switch v := a.(type) {
		case string:
			s = v
		case *string:
			if v == nil {
				continue
			}
			s = *v
		default:
			continue
		}
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return ErrInvalidText
		}
	}
	return nil
}
