package ledger

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error; the HTTP layers map it to a status.
type Kind int

const (
	// KindInvalid: the input is wrong (422).
	KindInvalid Kind = iota + 1
	// KindNotFound: the object does not exist (404).
	KindNotFound
	// KindConflict: the change clashes with stored data (409).
	KindConflict
	// KindLocked: the person is restricted (Art. 18) and frozen (423).
	KindLocked
	// KindGone: the person was anonymized (410).
	KindGone
)

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error safe to show to a client.
type Error struct {
	Kind Kind
	// Code is stable and machine-readable, e.g. "unknown-purpose".
	Code    string
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string { return fmt.Sprintf("ledger: %s: %s", e.Code, e.Message) }

// AsError extracts a domain error.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func invalid(code, msg string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: msg, Fields: fields}
}

func notFound(code, msg string) *Error {
	return &Error{Kind: KindNotFound, Code: code, Message: msg}
}

func conflict(code, msg string, fields ...FieldError) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: msg, Fields: fields}
}

// fieldErrs collects validation problems.
type fieldErrs []FieldError

func (f *fieldErrs) add(field, msg string) { *f = append(*f, FieldError{Field: field, Message: msg}) }

func (f fieldErrs) err() error {
	if len(f) == 0 {
		return nil
	}
	return invalid("validation", "some fields are invalid", f...)
}
