package input

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// BOM is the UTF-8 byte order mark spreadsheet programs put before a CSV.
const BOM = "\ufeff"

// SkipBOM drops a leading UTF-8 byte order mark from br.
func SkipBOM(br *bufio.Reader) {
	if b, _ := br.Peek(len(BOM)); bytes.Equal(b, []byte(BOM)) {
		br.Discard(len(BOM))
	}
}

// NewCSVReader reads CSV from r as spreadsheets write it: a leading byte
// order mark is skipped and rows may have any number of fields (the caller
// checks them). Pass its errors through CSVError.
func NewCSVReader(r io.Reader) *csv.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	SkipBOM(br)
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	return cr
}

// LineError is bad input at a line of a file.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// CSVError turns an error of csv.Reader.Read into a *LineError that says,
// in words, what is wrong where; io.EOF, nil and errors that are not
// about the syntax pass through unchanged.
func CSVError(err error) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	return &LineError{Line: pe.StartLine, Msg: CSVReason(pe)}
}

// CSVReason is what a CSV syntax error means, without the line of the row.
func CSVReason(pe *csv.ParseError) string {
	switch {
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf(`a quoted field is not closed, or a " inside it is not doubled ("") (seen at line %d, column %d)`, pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf(`a " inside a field that is not quoted (column %d): put the field in quotes and double the " inside it`, pe.Column)
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return "the row has a different number of fields than the header"
	}
	return "the row is not valid CSV"
}
