package ledger

import (
	"errors"
	"fmt"
	"strings"

	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
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

// FieldError names one invalid input field. Message is English, for the
// API and the CLI; Key and Args, where set, are the catalogue message
// (package i18n) the staff UI shows instead, in the reader's language.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Key     string `json:"-"`
	Args    [2]int `json:"-"` // numbers in the message (%[1]s, %[2]s), e.g. a length limit
}

// Keyed is a field error with English message msg and the catalogue
// message key (with args) that says the same in other languages.
func Keyed(field, msg, key string, args ...int) FieldError {
	fe := FieldError{Field: field, Message: msg, Key: key}
	copy(fe.Args[:], args)
	return fe
}

// Common field problems, with their catalogue keys.
const (
	KeyRequired = "field.problem.required"
	KeyDate     = "field.problem.date"
	KeyDateTime = "field.problem.datetime"
	KeyFuture   = "field.problem.future"
	KeyEmail    = "field.problem.email"
	KeyNumber   = "field.problem.number"
	KeyOneOf    = "field.problem.one_of"
	KeyLength   = "field.problem.length"
)

// Error is a domain error safe to show to a client.
type Error struct {
	Kind Kind
	// Code is stable and machine-readable, e.g. "unknown-purpose".
	Code    string
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string { return fmt.Sprintf("ledger: %s: %s", e.Code, e.Message) }

// Detail is the message followed by the field errors, for a surface
// that shows one line (a form's error, the CLI): "some fields are
// invalid; first_name: must not contain control characters (such as NUL)".
func (e *Error) Detail() string {
	msg := e.Message
	for _, f := range e.Fields {
		if f.Field == "" || strings.Contains(msg, f.Field+": "+f.Message) {
			continue
		}
		msg += "; " + f.Field + ": " + f.Message
	}
	return msg
}

// AsError extracts a domain error. A text the database cannot store (a
// NUL byte or broken UTF-8 that no domain check caught, e.g. in a search)
// is an invalid input too, never an internal error.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	var te *store.TextError
	if errors.As(err, &te) {
		return invalid("validation", "some fields are invalid", FieldError{Field: te.Field, Message: te.Message}), true
	}
	if store.IsInvalidText(err) {
		return invalid("invalid-text", "a text holds a NUL byte or a control character, or is not valid UTF-8"), true
	}
	return nil, false
}

// TextField is one client text to check with CheckTexts.
type TextField struct {
	Field, Value string
	Max          int
	Multi        bool // tab and line breaks allowed
}

// OneLine is a one-line text field of at most max characters.
func OneLine(field, value string, max int) TextField { return TextField{field, value, max, false} }

// MultiLine is a multi-line text field (tab, CR, LF allowed) of at most max characters.
func MultiLine(field, value string, max int) TextField { return TextField{field, value, max, true} }

// Check returns the field error for f, if any.
func (f TextField) Check() (FieldError, bool) {
	var p textcheck.Problem
	if f.Multi {
		p = textcheck.Text(f.Value, f.Max)
	} else {
		p = textcheck.Line(f.Value, f.Max)
	}
	if p == textcheck.OK {
		return FieldError{}, false
	}
	return FieldError{Field: f.Field, Message: p.Message(f.Max), Key: p.Key(), Args: [2]int{f.Max}}, true
}

// CheckTexts checks client texts by the rules of package textcheck (valid
// UTF-8, no control characters, tab and line breaks only in multi-line
// fields, a length limit) and returns a validation error naming every
// field that breaks them. Every domain package calls it where it
// validates its input, so that API, staff UI, self-service pages, CLI and
// imports refuse the same texts on both database engines.
func CheckTexts(fields ...TextField) error {
	var fe fieldErrs
	for _, f := range fields {
		fe.text(f)
	}
	return fe.err()
}

// TextErrors is CheckTexts for a caller that collects field errors itself.
func TextErrors(fields ...TextField) []FieldError {
	var fe fieldErrs
	for _, f := range fields {
		fe.text(f)
	}
	return fe
}

// CheckCountry normalises an optional country field to its ISO 3166-1
// alpha-2 code in upper case; empty stays empty.
func CheckCountry(field string, v *string) (FieldError, bool) {
	if *v == "" {
		return FieldError{}, false
	}
	c, ok := textcheck.Country(*v)
	if !ok {
		return FieldError{Field: field, Message: "must be an ISO 3166-1 alpha-2 country code, e.g. DE", Key: "field.problem.country"}, true
	}
	*v = c
	return FieldError{}, false
}

// CheckFileName checks and trims an uploaded file's name.
func CheckFileName(field string, v *string) (FieldError, bool) {
	name, p := textcheck.FileName(*v)
	if p != textcheck.OK {
		return FieldError{Field: field, Message: p.Message(textcheck.MaxFileName), Key: p.Key(), Args: [2]int{textcheck.MaxFileName}}, true
	}
	*v = name
	return FieldError{}, false
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

func (f *fieldErrs) add(field, msg string) { *f = append(*f, Field(field, msg)) }

// text adds the problem of a client text, if any.
func (f *fieldErrs) text(t TextField) {
	if e, bad := t.Check(); bad {
		*f = append(*f, e)
	}
}

func (f fieldErrs) err() error {
	if len(f) == 0 {
		return nil
	}
	return invalid("validation", "some fields are invalid", f...)
}
