package input

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// RequestError names the part of a request whose text cannot be stored.
type RequestError struct {
	Where string // "path", "query" or "form"
	Field string // the parameter or form field ("" for the path)
	Err   error  // ErrInvalidUTF8 or ErrNUL
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Where + ": " + e.Err.Error()
	}
	return e.Field + ": " + e.Err.Error()
}

// CheckRequest refuses a request whose path, query or URL-encoded form
// holds text a database cannot store (see Text), before any handler
// passes it to one. It parses a URL-encoded body as r.ParseForm does (the
// handlers then find it parsed); other bodies are the handlers' business.
func CheckRequest(r *http.Request) *RequestError {
	if e := CheckURL(r.URL); e != nil {
		return e
	}
	if r.Body == nil || r.Body == http.NoBody || (r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch) {
		return nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return nil
	}
	// A malformed form still yields the values before the error, and the
	// handlers see those: check them.
	_ = r.ParseForm()
	if f, err := values(r.PostForm); err != nil {
		return &RequestError{Where: "form", Field: f, Err: err}
	}
	return nil
}

// CheckURL refuses a path or query that holds text a database cannot
// store.
func CheckURL(u *url.URL) *RequestError {
	if err := Text(u.Path); err != nil {
		return &RequestError{Where: "path", Err: err}
	}
	if q := u.RawQuery; q != "" && needsCheck(q) {
		vs, _ := url.ParseQuery(q)
		if f, err := values(vs); err != nil {
			return &RequestError{Where: "query", Field: f, Err: err}
		}
	}
	return nil
}

// needsCheck: only escapes, NUL and non-ASCII bytes can make bad text.
func needsCheck(q string) bool {
	for i := 0; i < len(q); i++ {
		if q[i] == '%' || q[i] >= 0x80 || q[i] == 0 {
			return true
		}
	}
	return false
}

func values(vs url.Values) (string, error) {
	for k, list := range vs {
		if err := Text(k); err != nil {
			return strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), "\uFFFD"), err
		}
		for _, v := range list {
			if err := Text(v); err != nil {
				return k, err
			}
		}
	}
	return "", nil
}
