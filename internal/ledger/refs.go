package ledger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/input"
)

// RefError is a malformed line in a list of references.
type RefError struct {
	Line int
	Msg  string
}

func (e *RefError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

var headerNames = map[string]bool{"email": true, "e-mail": true, "id": true, "person_id": true, "ref": true}

// CSVRefs reads the first column of each CSV line; a header line naming
// email, id, person_id or ref is skipped, and so is a leading byte order
// mark. A syntax error ends the list with a *RefError naming the line.
func CSVRefs(in io.Reader) func() (Ref, bool, error) {
	cr := input.NewCSVReader(in)
	cr.ReuseRecord = true
	first := true
	return func() (Ref, bool, error) {
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return Ref{}, false, nil
			}
			if err != nil {
				var le *input.LineError
				if errors.As(input.CSVError(err), &le) {
					return Ref{}, false, &RefError{Line: le.Line, Msg: "malformed CSV: " + le.Msg}
				}
				return Ref{}, false, err
			}
			header := first
			first = false
			if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") {
				continue
			}
			if header && headerNames[strings.ToLower(strings.TrimSpace(rec[0]))] {
				continue
			}
			return ParseRef(rec[0]), true, nil
		}
	}
}

// JSONRefs reads JSON lines: a string, a number, or an object with
// "email", "id" or "ref".
func JSONRefs(in *bufio.Reader) func() (Ref, bool, error) {
	line := 0
	return func() (Ref, bool, error) {
		for {
			b, err := in.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				return Ref{}, false, &RefError{Line: line + 1, Msg: "line too long"}
			}
			if err != nil && err != io.EOF {
				return Ref{}, false, err
			}
			if len(b) == 0 && err == io.EOF {
				return Ref{}, false, nil
			}
			line++
			b = bytes.TrimSpace(b)
			if len(b) == 0 {
				if err == io.EOF {
					return Ref{}, false, nil
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
					return Ref{}, false, &RefError{Line: line, Msg: "malformed JSON"}
				}
				return ParseRef(str), true, nil
			case '{':
				if json.Unmarshal(b, &v) != nil {
					return Ref{}, false, &RefError{Line: line, Msg: "malformed JSON"}
				}
				switch {
				case v.ID != 0:
					return ParseRef(strconv.FormatInt(v.ID, 10)), true, nil
				case v.Email != "":
					return ParseRef(v.Email), true, nil
				default:
					return ParseRef(v.Ref), true, nil
				}
			default:
				if _, perr := strconv.ParseInt(string(b), 10, 64); perr == nil {
					return ParseRef(string(b)), true, nil
				}
				return Ref{}, false, &RefError{Line: line, Msg: "expected a JSON string, number or object"}
			}
		}
	}
}

// RefsInBytes estimates how many references a list of n bytes holds, for
// Check's sizeHint (0 when n is unknown): e-mail addresses run to about 20
// bytes a line.
func RefsInBytes(n int64) int {
	if n <= 0 {
		return 0
	}
	return int(n / 20)
}
