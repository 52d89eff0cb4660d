package api

import (
	"bufio"
	"context"
	"encoding/json"
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
	create(s, w, r, tok, maxConsentBody, func(ctx context.Context, in consentRequest) (*ledger.ConsentEvent, error) {
		if in.PersonID == 0 && in.Email != "" {
			p, err := s.ledger.PersonByEmail(ctx, in.Email)
			if err != nil {
				return nil, err
			}
			in.PersonID = p.ID
		}
		return s.ledger.RecordConsent(ctx, tok.Actor(), in.ConsentInput)
	}, s.ledger.ConsentEventByID, func(ev *ledger.ConsentEvent) string { return "/api/v1/consent-events/" + strconv.FormatInt(ev.ID, 10) })
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
		next = ledger.CSVRefs(in)
	case strings.HasPrefix(ct, "application/x-ndjson"), strings.HasPrefix(ct, "application/jsonl"):
		next = ledger.JSONRefs(in)
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
	sum, err := s.ledger.Check(r.Context(), purpose, ledger.RefsInBytes(r.ContentLength), next, func(v ledger.Verdict) error {
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
		if _, ok := err.(*ledger.RefError); ok {
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
		if re, ok := err.(*ledger.RefError); ok {
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
