package rights

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/go-pdf/fpdf"
	"github.com/xuri/excelize/v2"
)

//go:embed templates/report.html
var reportFS embed.FS

var reportTmpl = template.Must(template.New("report.html").Funcs(template.FuncMap{"amount": amount}).ParseFS(reportFS, "templates/report.html"))

func amount(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

type reportView struct{ R *Report }

func (v reportView) L(key string) string { return Label(v.R.Language, key) }

// WriteHTML renders the report as one HTML document.
func (r *Report) WriteHTML(w io.Writer) error {
	return reportTmpl.Execute(w, reportView{r})
}

// fontPaths are where the PDF looks for DejaVu Sans (Debian's
// fonts-dejavu-core), which covers names in any European script. Without
// it the PDF falls back to Helvetica, which covers Latin-1 (German, Danish).
var fontPaths = []string{"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/local/share/fonts/DejaVuSans.ttf"}

var fontOnce sync.Once
var fontBytes []byte

func dejaVu() []byte {
	fontOnce.Do(func() {
		for _, p := range fontPaths {
			if b, err := os.ReadFile(p); err == nil {
				fontBytes = b
				return
			}
		}
	})
	return fontBytes
}

// WritePDF renders the report as a readable A4 PDF in the person's language.
func (r *Report) WritePDF(w io.Writer) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetAutoPageBreak(true, 15)
	pdf.SetMargins(18, 18, 18)
	family := "Helvetica"
	tr := func(s string) string { return s }
	if font := dejaVu(); font != nil {
		family = "DejaVu"
		pdf.AddUTF8FontFromBytes(family, "", font)
		pdf.AddUTF8FontFromBytes(family, "B", font)
	} else {
		tr = pdf.UnicodeTranslatorFromDescriptor("")
	}
	pdf.SetTitle(Label(r.Language, "title"), true)
	pdf.AliasNbPages("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont(family, "", 8)
		pdf.CellFormat(0, 5, fmt.Sprintf("%d / {nb}", pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	L := func(k string) string { return tr(Label(r.Language, k)) }
	h1 := func(s string) {
		pdf.SetFont(family, "B", 15)
		pdf.MultiCell(0, 7, s, "", "L", false)
		pdf.Ln(2)
	}
	h2 := func(s string) {
		pdf.Ln(3)
		pdf.SetFont(family, "B", 12)
		pdf.MultiCell(0, 6, s, "", "L", false)
		pdf.SetFont(family, "", 9.5)
	}
	line := func(s string) { pdf.MultiCell(0, 4.8, tr(s), "", "L", false) }
	kv := func(k, v string) {
		if strings.TrimSpace(v) == "" {
			return
		}
		line(Label(r.Language, k) + ": " + v)
	}
	h1(L("title"))
	pdf.SetFont(family, "", 9.5)
	gen := Label(r.Language, "generated") + ": " + r.GeneratedAt.Format("2006-01-02 15:04 UTC")
	if r.Controller != "" {
		gen = r.Controller + " · " + gen
	}
	line(gen)
	if p := r.Person; p != nil {
		h2(L("person"))
		kv("name", strings.TrimSpace(p.FirstName+" "+p.LastName))
		kv("emails", strings.Join(p.Emails, ", "))
		var phones []string
		for _, ph := range p.Phones {
			phones = append(phones, strings.TrimSpace(ph.Number+" "+ph.Kind))
		}
		kv("phones", strings.Join(phones, ", "))
		kv("address", strings.Join(nonEmpty(p.Address.Street, strings.TrimSpace(p.Address.PostalCode+" "+p.Address.City), p.Address.Country), ", "))
		kv("language", p.Language)
		kv("status", p.Status)
	}
	if len(r.CustomFields) > 0 {
		h2(L("custom_fields"))
		keys := make([]string, 0, len(r.CustomFields))
		for k := range r.CustomFields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			line(fmt.Sprintf("%s: %v", k, r.CustomFields[k]))
		}
	}
	if r.Organisation != nil {
		h2(L("organisation"))
		line(r.Organisation.Name)
	}
	if len(r.Purposes) > 0 {
		h2(L("purposes"))
		for _, p := range r.Purposes {
			s := fmt.Sprintf("%s: %s · %s %s · %s %d", p.Name, p.State, p.LegalBasis, p.Article, Label(r.Language, "retention"), p.RetentionDays)
			if p.Description != "" {
				s += "\n" + p.Description
			}
			line(s)
		}
	}
	if len(r.Consents) > 0 {
		h2(L("consents"))
		for _, c := range r.Consents {
			s := fmt.Sprintf("%s  %s  %s (%s)", c.At.Format("2006-01-02 15:04"), c.Purpose, c.Kind, c.LegalBasis)
			if c.Source != "" {
				s += " · " + c.Source
			}
			if len(c.Evidence) > 0 {
				s += " · " + strings.Join(c.Evidence, "; ")
			}
			line(s)
		}
	}
	h2(L("sources"))
	line(orNone(r.Language, r.Sources))
	h2(L("recipients"))
	line(orNoneList(r.Language, r.recipientLines()))
	if len(r.Activities) > 0 {
		h2(L("activities"))
		for _, a := range r.Activities {
			s := fmt.Sprintf("%s  %s  %s", a.OccurredAt.Format("2006-01-02 15:04"), a.Kind, a.Subject)
			if a.Body != "" {
				s += ": " + a.Body
			}
			line(s + " · " + a.Author)
		}
	}
	if len(r.Documents) > 0 {
		h2(L("documents"))
		for _, d := range r.Documents {
			line(fmt.Sprintf("%s (%s, %d bytes) %s", d.Filename, d.MediaType, d.Size, d.CreatedAt.Format("2006-01-02")))
		}
	}
	if len(r.Relationships) > 0 {
		h2(L("relationships"))
		for _, x := range r.Relationships {
			line(fmt.Sprintf("%s: %d – %d", x.Kind, x.PersonID, x.OtherID))
		}
	}
	if len(r.BusinessRecords) > 0 {
		h2(L("business_records"))
		for _, b := range r.BusinessRecords {
			line(fmt.Sprintf("%s %s  %s  %s %s", b.Kind, b.Number, b.IssuedOn, amount(b.AmountCents), b.Currency))
		}
	}
	h2(L("rights"))
	for _, t := range r.Rights {
		line(t)
		pdf.Ln(1)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("rights: pdf: %w", err)
	}
	return pdf.Output(w)
}

func orNone(lang string, v []string) string {
	if len(v) == 0 {
		return Label(lang, "none")
	}
	return strings.Join(v, ", ")
}

// WriteXLSX renders the report as a workbook, one sheet per section.
func (r *Report) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	L := func(k string) string { return Label(r.Language, k) }
	sheets := 0
	sheet := func(name string, header []any, rows [][]any) error {
		name = sheetName(name)
		if sheets == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		sheets++
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		if err := sw.SetRow("A1", header); err != nil {
			return err
		}
		for i, row := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+2)
			if err := sw.SetRow(cell, row); err != nil {
				return err
			}
		}
		return sw.Flush()
	}
	var rows [][]any
	if p := r.Person; p != nil {
		rows = append(rows, []any{L("name"), strings.TrimSpace(p.FirstName + " " + p.LastName)}, []any{L("emails"), strings.Join(p.Emails, ", ")})
		for _, ph := range p.Phones {
			rows = append(rows, []any{L("phones"), ph.Number})
		}
		rows = append(rows, []any{L("address"), strings.Join(nonEmpty(p.Address.Street, p.Address.PostalCode, p.Address.City, p.Address.Country), ", ")},
			[]any{L("language"), p.Language}, []any{L("status"), p.Status})
	}
	for k, v := range r.CustomFields {
		rows = append(rows, []any{k, fmt.Sprint(v)})
	}
	if r.Organisation != nil {
		rows = append(rows, []any{L("organisation"), r.Organisation.Name})
	}
	rows = append(rows, []any{L("sources"), orNone(r.Language, r.Sources)}, []any{L("recipients"), orNoneList(r.Language, r.recipientLines())}, []any{L("generated"), r.GeneratedAt.Format("2006-01-02 15:04 UTC")})
	if err := sheet(L("person"), []any{L("person"), ""}, rows); err != nil {
		return err
	}
	if len(r.Purposes) > 0 {
		rows = rows[:0]
		for _, p := range r.Purposes {
			rows = append(rows, []any{p.Name, p.Description, p.State, p.LegalBasis, p.Article, p.RetentionDays})
		}
		if err := sheet(L("purposes"), []any{L("purpose"), "", L("state"), L("basis"), "", L("retention")}, rows); err != nil {
			return err
		}
	}
	if len(r.Consents) > 0 {
		rows = rows[:0]
		for _, c := range r.Consents {
			rows = append(rows, []any{c.At.Format("2006-01-02 15:04"), c.Purpose, c.Kind, c.LegalBasis, c.Source, strings.Join(c.Evidence, "; ")})
		}
		if err := sheet(L("consents"), []any{L("when"), L("purpose"), L("event"), L("basis"), L("source"), L("evidence")}, rows); err != nil {
			return err
		}
	}
	if len(r.Activities) > 0 {
		rows = rows[:0]
		for _, a := range r.Activities {
			rows = append(rows, []any{a.OccurredAt.Format("2006-01-02 15:04"), a.Kind, a.Subject, a.Body, a.Author})
		}
		if err := sheet(L("activities"), []any{L("when"), L("kind"), L("subject"), "", L("author")}, rows); err != nil {
			return err
		}
	}
	if len(r.Documents) > 0 {
		rows = rows[:0]
		for _, d := range r.Documents {
			rows = append(rows, []any{d.Filename, d.MediaType, d.Size, d.CreatedAt.Format("2006-01-02")})
		}
		if err := sheet(L("documents"), []any{L("file"), "", L("size"), L("date")}, rows); err != nil {
			return err
		}
	}
	if len(r.BusinessRecords) > 0 {
		rows = rows[:0]
		for _, b := range r.BusinessRecords {
			rows = append(rows, []any{b.Kind, b.Number, b.IssuedOn, amount(b.AmountCents), b.Currency})
		}
		if err := sheet(L("business_records"), []any{L("kind"), L("number"), L("date"), L("amount"), ""}, rows); err != nil {
			return err
		}
	}
	rows = rows[:0]
	for _, t := range r.Rights {
		rows = append(rows, []any{t})
	}
	if err := sheet(L("rights"), []any{L("rights")}, rows); err != nil {
		return err
	}
	return f.Write(w)
}

// sheetName makes a valid, unique-enough worksheet name (at most 31
// characters, none of : \ / ? * [ ]).
func sheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 31 {
		s = string(r[:31])
	}
	return s
}

// Render renders the report in format: json, html, pdf or xlsx.
func (r *Report) Render(format string) ([]byte, string, error) {
	var buf bytes.Buffer
	var err error
	var ct string
	switch format {
	case "pdf":
		ct, err = "application/pdf", r.WritePDF(&buf)
	case "html":
		ct, err = "text/html; charset=utf-8", r.WriteHTML(&buf)
	case "xlsx":
		ct, err = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", r.WriteXLSX(&buf)
	case "json", "":
		ct, err = "application/json", writeJSONIndent(&buf, r)
	default:
		return nil, "", invalid("format", "must be json, html, pdf or xlsx")
	}
	return buf.Bytes(), ct, err
}
