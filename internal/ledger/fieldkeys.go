package ledger

import (
	"strconv"
	"strings"
)

// keyOf is the catalogue key of a common English field message.
var keyOf = map[string]string{
	"is required":                                       KeyRequired,
	"must be a date (YYYY-MM-DD)":                       KeyDate,
	"must be a date as YYYY-MM-DD":                      KeyDate,
	"must not be in the future":                         KeyFuture,
	"cannot lie in the future":                          KeyFuture,
	"is not a valid e-mail address":                     KeyEmail,
	"there is no such person":                           "field.problem.no_person",
	"must not be before the time of awareness":          "field.problem.before_aware",
	"must not be after the time of awareness":           "field.problem.after_aware",
	"describe the nature of the breach (Art. 33(3)(a))": "field.problem.describe_breach",
	"the notification comes more than 72 hours after awareness: give the reasons for the delay (Art. 33(1), at least 10 characters)": "field.problem.late_reason",
}

// Field is the field error for field with the English message msg; a
// common message also gets its catalogue key, so that the staff UI can
// say it in the reader's language ("must be at most 200 characters" →
// field.problem.too_long with 200). Domain packages build their field
// errors with it.
func Field(field, msg string) FieldError {
	fe := FieldError{Field: field, Message: msg}
	if k, ok := keyOf[msg]; ok {
		fe.Key = k
		return fe
	}
	if n, ok := strings.CutPrefix(msg, "must be at most "); ok {
		if n, ok := strings.CutSuffix(n, " characters"); ok {
			if v, err := strconv.Atoi(strings.ReplaceAll(n, ",", "")); err == nil {
				fe.Key, fe.Args = "field.problem.too_long", [2]int{v}
			}
		}
		return fe
	}
	if r, ok := strings.CutPrefix(msg, "must be "); ok {
		if r, ok := strings.CutSuffix(r, " characters"); ok {
			if lo, hi, ok := strings.Cut(r, " to "); ok {
				a, err1 := strconv.Atoi(strings.ReplaceAll(lo, ",", ""))
				b, err2 := strconv.Atoi(strings.ReplaceAll(hi, ",", ""))
				if err1 == nil && err2 == nil {
					fe.Key, fe.Args = KeyLength, [2]int{a, b}
				}
			}
		}
	}
	return fe
}
