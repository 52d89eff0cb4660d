package rights

import (
	"io"
	"strings"
)

// PDFText is every text the report's PDF puts on its pages, one per line.
func PDFText(r *Report) (string, error) {
	var b strings.Builder
	err := r.writePDF(io.Discard, func(s string) { b.WriteString(s + "\n") })
	return b.String(), err
}
