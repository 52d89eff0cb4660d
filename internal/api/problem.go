package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// ProblemBase prefixes every problem type URI.
const ProblemBase = "https://consento.dev/problems/"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   []ledger.FieldError `json:"errors,omitempty"`
}

func problem(w http.ResponseWriter, r *http.Request, status int, code, title, detail string, fields []ledger.FieldError) {
	p := Problem{Type: ProblemBase + code, Title: title, Status: status, Detail: detail, Instance: r.URL.Path, Errors: fields}
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	w.Write(b)
}

// WriteProblem answers an API request with a problem details object; for
// answers made outside the API's own handlers (limits of the server).
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, code, title, detail string) {
	problem(w, r, status, code, title, detail, nil)
}

var kindStatus = map[ledger.Kind]int{
	ledger.KindInvalid:  http.StatusUnprocessableEntity,
	ledger.KindNotFound: http.StatusNotFound,
	ledger.KindConflict: http.StatusConflict,
	ledger.KindLocked:   http.StatusLocked,
	ledger.KindGone:     http.StatusGone,
}

var kindTitle = map[ledger.Kind]string{
	ledger.KindInvalid:  "Invalid request",
	ledger.KindNotFound: "Not found",
	ledger.KindConflict: "Conflict",
	ledger.KindLocked:   "Person restricted",
	ledger.KindGone:     "Person anonymized",
}

// fail answers with the problem that err describes; errors that are not
// domain errors are logged and answered with a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if de, ok := ledger.AsError(err); ok {
		problem(w, r, kindStatus[de.Kind], de.Code, kindTitle[de.Kind], de.Message, de.Fields)
		return
	}
	if errors.Is(err, store.ErrIdempotencyMismatch) {
		problem(w, r, http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency key reused", "this Idempotency-Key was already used for a different request", nil)
		return
	}
	if errors.Is(err, r.Context().Err()) && r.Context().Err() != nil {
		return // the client went away
	}
	s.internal(w, r, err)
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "route", r.Pattern, "err", err)
	problem(w, r, http.StatusInternalServerError, "internal", "Internal error", "the request could not be completed; the error was logged", nil)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"encoding"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

const maxBody = 1 << 20

// readBody reads a JSON body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		problem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "send the body as application/json", nil)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			problem(w, r, http.StatusRequestEntityTooLarge, "body-too-large", "Body too large", fmt.Sprintf("the body must be at most %d bytes", limit), nil)
			return nil, false
		}
		problem(w, r, http.StatusBadRequest, "malformed-body", "Malformed body", "the body could not be read", nil)
		return nil, false
	}
	return body, true
}

// decode reads a JSON body into v, rejecting unknown fields and trailing data.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) ([]byte, bool) {
	body, ok := readBody(w, r, limit)
	if !ok {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		problem(w, r, http.StatusBadRequest, "malformed-json", "Malformed JSON", jsonErrorDetail(err), nil)
		return nil, false
	}
	if dec.More() {
		problem(w, r, http.StatusBadRequest, "malformed-json", "Malformed JSON", "the body holds more than one JSON value", nil)
		return nil, false
	}
	if fe := badText(v); fe != nil {
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", fe.Field+" "+fe.Message, []ledger.FieldError{*fe})
		return nil, false
	}
	return body, true
}

func jsonErrorDetail(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be of type %s", te.Field, te.Type.String())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF):
		return "the body is empty"
	}
	return "the body is not valid JSON for this endpoint"
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		problem(w, r, http.StatusNotFound, "not-found", "Not found", "the "+name+" must be a positive integer", nil)
		return 0, false
	}
	return id, true
}

// idempotent returns the request context bound to the Idempotency-Key
// header, if the client sent one.
func idempotent(w http.ResponseWriter, r *http.Request, tok *auth.Token, body []byte) (*http.Request, bool) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return r, true
	}
	if len(key) > 255 {
		problem(w, r, http.StatusBadRequest, "invalid-idempotency-key", "Invalid Idempotency-Key", "the Idempotency-Key must be at most 255 characters", nil)
		return nil, false
	}
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	ctx := store.WithIdempotency(r.Context(), store.Idempotency{Scope: "token:" + strconv.FormatInt(tok.ID, 10), Key: key, RequestHash: h.Sum(nil)})
	return r.WithContext(ctx), true
}

// create answers a POST that creates an object: it decodes the body,
// binds the Idempotency-Key, runs do and answers 201 with a Location. When
// the key was used before with the same body, nothing is created again:
// the answer is 200 with the object made then (Idempotent-Replayed: true).
func create[In, Out any](s *Server, w http.ResponseWriter, r *http.Request, tok *auth.Token, limit int64,
	do func(context.Context, In) (Out, error), fetch func(context.Context, int64) (Out, error), location func(Out) string) {
	var in In
	body, ok := decode(w, r, limit, &in)
	if !ok {
		return
	}
	if r, ok = idempotent(w, r, tok, body); !ok {
		return
	}
	out, err := do(r.Context(), in)
	if id, ok := replayed(err); ok {
		if out, err = fetch(r.Context(), id); err == nil {
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", location(out))
	writeJSON(w, http.StatusCreated, out)
}

// replayed reports whether err says the request was processed before, and
// the id of the object it produced then.
func replayed(err error) (int64, bool) {
	var rp *store.Replayed
	if !errors.As(err, &rp) {
		return 0, false
	}
	id, _ := strconv.ParseInt(rp.Result, 10, 64)
	return id, true
}
