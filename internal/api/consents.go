package api

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/receipt"
)

// maxConsentBody allows evidence files (10 MiB each, base64) in a consent event.
const maxConsentBody = 32 << 20

type consentRequest struct {
	ledger.ConsentInput
	// Email may name the person instead of person_id.
	Email string `json:"email"`
}

func (s *Server) recordConsent(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in consentRequest
	body, ok := decode(w, r, maxConsentBody, &in)
	if !ok {
		return
	}
	if in.PersonID == 0 && in.Email != "" {
		p, err := s.ledger.PersonByEmail(r.Context(), in.Email)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		in.PersonID = p.ID
	}
	if r, ok = idempotent(w, r, tok, body); !ok {
		return
	}
	ev, err := s.ledger.RecordConsent(r.Context(), tok.Actor(), in.ConsentInput)
	if id, ok := replayed(err); ok {
		if ev, err = s.ledger.ConsentEventByID(r.Context(), id); err == nil {
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, http.StatusOK, ev)
			return
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/consent-events/"+strconv.FormatInt(ev.ID, 10))
	writeJSON(w, http.StatusCreated, ev)
}

func (s *Server) getConsentEvent(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	ev, err := s.ledger.ConsentEventByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

func (s *Server) getReceipt(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	ev, err := s.ledger.ConsentEventByID(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.ledger.Purpose(r.Context(), ev.Purpose)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	claims := receipt.Build(ev, p, s.controller, time.Now())
	jws, err := s.signer.Sign(claims)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"receipt": jws, "claims": claims, "jwks_uri": "/.well-known/jwks.json"})
}

func (s *Server) getEvidence(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	f, err := s.ledger.EvidenceFile(r.Context(), r.PathValue("sha256"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", f.MediaType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+f.SHA256+`"`)
	w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
	w.Write(f.Content)
}

// bulkCheck streams a list of persons in (CSV or JSON lines) and one
// verdict per person out, in the same order, without buffering the list.
func (s *Server) bulkCheck(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	purpose := r.URL.Query().Get("purpose")
	if purpose == "" {
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "the purpose query parameter is required",
			[]ledger.FieldError{{Field: "purpose", Message: "is required"}})
		return
	}
	// Verdicts stream out while the list still streams in: without full
	// duplex an HTTP/1 server discards the unread body at the first write.
	// Closing the body at the end avoids golang/go#68560 when it is unread.
	_ = http.NewResponseController(w).EnableFullDuplex()
	defer r.Body.Close()
	ct := r.Header.Get("Content-Type")
	var next func() (ledger.Ref, bool, error)
	in := bufio.NewReaderSize(r.Body, 256<<10)
	switch {
	case strings.HasPrefix(ct, "text/csv"):
		next = csvRefs(in)
	case strings.HasPrefix(ct, "application/x-ndjson"), strings.HasPrefix(ct, "application/jsonl"):
		next = jsonRefs(in)
	default:
		problem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "send text/csv (one id or e-mail per line) or application/x-ndjson", nil)
		return
	}
	asCSV := strings.Contains(r.Header.Get("Accept"), "text/csv")
	out := bufio.NewWriterSize(w, 256<<10)
	started := false
	start := func() {
		started = true
		w.Header().Set("Trailer", "Consento-Total, Consento-Allowed, Consento-Denied, Consento-Error")
		if asCSV {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			out.WriteString("ref,person_id,allowed,reason\n")
		} else {
			w.Header().Set("Content-Type", "application/x-ndjson")
		}
		w.WriteHeader(http.StatusOK)
	}
	var buf []byte
	sum, err := s.ledger.Check(r.Context(), purpose, next, func(v ledger.Verdict) error {
		if !started {
			start()
		}
		if asCSV {
			buf = appendVerdictCSV(buf[:0], v)
		} else {
			buf = appendVerdictJSON(buf[:0], v)
		}
		_, err := out.Write(buf)
		return err
	})
	if err != nil && !started {
		if _, ok := err.(*refError); ok {
			problem(w, r, http.StatusBadRequest, "malformed-body", "Malformed body", err.Error(), nil)
			return
		}
		s.fail(w, r, err)
		return
	}
	if !started {
		start()
	}
	out.Flush()
	w.Header().Set("Consento-Total", strconv.Itoa(sum.Total))
	w.Header().Set("Consento-Allowed", strconv.Itoa(sum.Allowed))
	w.Header().Set("Consento-Denied", strconv.Itoa(sum.Denied))
	if err != nil {
		msg := "the check stopped early"
		if re, ok := err.(*refError); ok {
			msg = re.Error()
		} else {
			s.log.Error("bulk check failed", "err", err)
		}
		w.Header().Set("Consento-Error", msg)
	}
}

// appendVerdictCSV writes a verdict as encoding/csv would:
// ref,person_id,allowed,reason.
func appendVerdictCSV(b []byte, v ledger.Verdict) []byte {
	b = appendCSVField(b, v.Ref)
	b = append(b, ',')
	if v.PersonID != 0 {
		b = strconv.AppendInt(b, v.PersonID, 10)
	}
	b = append(b, ',')
	b = strconv.AppendBool(b, v.Allowed)
	b = append(b, ',')
	b = appendCSVField(b, v.Reason)
	return append(b, '\n')
}

// appendCSVField quotes a field exactly when (and as) csv.Writer does.
func appendCSVField(b []byte, f string) []byte {
	if !csvNeedsQuotes(f) {
		return append(b, f...)
	}
	b = append(b, '"')
	for i := 0; i < len(f); i++ {
		if f[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, f[i])
	}
	return append(b, '"')
}

// csvNeedsQuotes is csv.Writer's fieldNeedsQuotes for the comma ','.
func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` || strings.ContainsAny(f, ",\"\r\n") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

func appendVerdictJSON(b []byte, v ledger.Verdict) []byte {
	b = append(b, `{"ref":`...)
	if jsonPlain(v.Ref) {
		b = append(append(append(b, '"'), v.Ref...), '"')
	} else {
		ref, _ := json.Marshal(v.Ref)
		b = append(b, ref...)
	}
	if v.PersonID != 0 {
		b = append(b, `,"person_id":`...)
		b = strconv.AppendInt(b, v.PersonID, 10)
	}
	b = append(b, `,"allowed":`...)
	b = strconv.AppendBool(b, v.Allowed)
	b = append(b, `,"reason":"`...)
	b = append(b, v.Reason...)
	return append(b, "\"}\n"...)
}

// jsonPlain reports whether json.Marshal would quote s without escaping.
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

type refError struct {
	line int
	msg  string
}

func (e *refError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

var headerNames = map[string]bool{"email": true, "e-mail": true, "id": true, "person_id": true, "ref": true}

// csvRefs reads the first column of each CSV line; a header line naming
// email, id, person_id or ref is skipped.
func csvRefs(in *bufio.Reader) func() (ledger.Ref, bool, error) {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	line := 0
	return func() (ledger.Ref, bool, error) {
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return ledger.Ref{}, false, nil
			}
			line++
			if err != nil {
				return ledger.Ref{}, false, &refError{line: line, msg: "malformed CSV"}
			}
			if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") {
				continue
			}
			if line == 1 && headerNames[strings.ToLower(strings.TrimSpace(rec[0]))] {
				continue
			}
			return ledger.ParseRef(rec[0]), true, nil
		}
	}
}

// jsonRefs reads JSON lines: a string, a number, or an object with
// "email", "id" or "ref".
func jsonRefs(in *bufio.Reader) func() (ledger.Ref, bool, error) {
	line := 0
	return func() (ledger.Ref, bool, error) {
		for {
			b, err := in.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				return ledger.Ref{}, false, &refError{line: line + 1, msg: "line too long"}
			}
			if err != nil && err != io.EOF {
				return ledger.Ref{}, false, err
			}
			if len(b) == 0 && err == io.EOF {
				return ledger.Ref{}, false, nil
			}
			line++
			b = bytes.TrimSpace(b)
			if len(b) == 0 {
				if err == io.EOF {
					return ledger.Ref{}, false, nil
				}
				continue
			}
			var v struct {
				Email string `json:"email"`
				ID    int64  `json:"id"`
				Ref   string `json:"ref"`
			}
			switch b[0] {
			case '"':
				var str string
				if json.Unmarshal(b, &str) != nil {
					return ledger.Ref{}, false, &refError{line: line, msg: "malformed JSON"}
				}
				return ledger.ParseRef(str), true, nil
			case '{':
				if json.Unmarshal(b, &v) != nil {
					return ledger.Ref{}, false, &refError{line: line, msg: "malformed JSON"}
				}
				switch {
				case v.ID != 0:
					return ledger.ParseRef(strconv.FormatInt(v.ID, 10)), true, nil
				case v.Email != "":
					return ledger.ParseRef(v.Email), true, nil
				default:
					return ledger.ParseRef(v.Ref), true, nil
				}
			default:
				if _, perr := strconv.ParseInt(string(b), 10, 64); perr == nil {
					return ledger.ParseRef(string(b)), true, nil
				}
				return ledger.Ref{}, false, &refError{line: line, msg: "expected a JSON string, number or object"}
			}
		}
	}
}
