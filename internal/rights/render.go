package rights

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/go-pdf/fpdf"
	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/i18n"
)

//go:embed templates/report.html
var reportFS embed.FS

var reportTmpl = template.Must(template.New("report.html").Funcs(template.FuncMap(i18n.TemplateFuncs())).ParseFS(reportFS, "templates/report.html"))

type reportView struct{ R *Report }

func (v reportView) L(key string) string { return Label(v.R.Language, key) }

// Lang is the report's language, for the template functions.
func (v reportView) Lang() string { return v.R.Language }

// PersonLabels are the person's codes in the reader's words.
func (v reportView) PersonLabels() *PersonLabels { return v.R.personLabels() }

// Size is a file size in the reader's words.
func (v reportView) Size(n int64) string { return sizeLabel(v.R.Language, n) }

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
func (r *Report) WritePDF(w io.Writer) error { return r.writePDF(w, nil) }

// writePDF renders the PDF; every text it puts on a page also goes to
// seen when that is not nil (the tests read what the reader reads).
func (r *Report) writePDF(w io.Writer, seen func(string)) error {
	lang := r.Language
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
	put := func(s string) string {
		if seen != nil {
			seen(s)
		}
		return tr(s)
	}
	pdf.SetTitle(Label(lang, "title"), true)
	pdf.SetLang(lang)
	pdf.AliasNbPages("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-12)
		pdf.SetFont(family, "", 8)
		pdf.CellFormat(0, 5, fmt.Sprintf("%d / {nb}", pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	h1 := func(s string) {
		pdf.SetFont(family, "B", 15)
		pdf.MultiCell(0, 7, put(s), "", "L", false)
		pdf.Ln(2)
	}
	h2 := func(key string) {
		pdf.Ln(3)
		pdf.SetFont(family, "B", 12)
		pdf.MultiCell(0, 6, put(Label(lang, key)), "", "L", false)
		pdf.SetFont(family, "", 9.5)
	}
	line := func(s string) { pdf.MultiCell(0, 4.8, put(s), "", "L", false) }
	kv := func(k, v string) {
		if strings.TrimSpace(v) == "" {
			return
		}
		line(Label(lang, k) + ": " + v)
	}
	h1(Label(lang, "title"))
	pdf.SetFont(family, "", 9.5)
	gen := Label(lang, "generated") + ": " + i18n.DateTime(lang, r.GeneratedAt)
	if r.Controller != "" {
		gen = Label(lang, "controller") + ": " + r.Controller + " · " + gen
	}
	line(gen)
	if p := r.Person; p != nil {
		pl := r.personLabels()
		h2("person")
		kv("name", strings.TrimSpace(p.FirstName+" "+p.LastName))
		kv("emails", strings.Join(p.Emails, ", "))
		kv("phones", strings.Join(pl.Phones, ", "))
		kv("address", strings.Join(nonEmpty(p.Address.Street, strings.TrimSpace(p.Address.PostalCode+" "+p.Address.City), p.Address.Country), ", "))
		kv("language", pl.Language)
		kv("status", pl.Status)
	}
	if len(r.Fields) > 0 {
		h2("custom_fields")
		for _, f := range r.Fields {
			line(f.Label + ": " + f.Value)
		}
	}
	if r.Organisation != nil {
		h2("organisation")
		line(r.Organisation.Name)
	}
	if len(r.Purposes) > 0 {
		h2("purposes")
		for _, p := range r.Purposes {
			s := p.Name + ": " + p.StateLabel
			if p.LegalBasisLabel != "" {
				s += " · " + p.LegalBasisLabel
			}
			s += " · " + Label(lang, "retention") + ": " + p.RetentionLabel
			if p.Description != "" {
				s += "\n" + p.Description
			}
			line(s)
		}
	}
	if len(r.Consents) > 0 {
		h2("consents")
		for _, c := range r.Consents {
			s := i18n.DateTime(lang, c.At) + " · " + c.PurposeName + " · " + c.KindLabel
			if c.LegalBasisLabel != "" {
				s += " · " + c.LegalBasisLabel
			}
			if c.SourceLabel != "" {
				s += " · " + Label(lang, "source") + ": " + c.SourceLabel
			}
			if len(c.Evidence) > 0 {
				s += " · " + strings.Join(c.Evidence, "; ")
			}
			line(s)
		}
	}
	h2("sources")
	line(orNone(lang, r.SourceLabels))
	h2("recipients")
	line(orNoneList(lang, r.recipientLines()))
	if len(r.Activities) > 0 {
		h2("activities")
		for _, a := range r.Activities {
			s := i18n.DateTime(lang, a.OccurredAt) + " · " + a.KindLabel + " · " + a.Subject
			if a.Body != "" {
				s += ": " + a.Body
			}
			if a.Author != "" {
				s += " · " + Label(lang, "author") + ": " + a.Author
			}
			line(s)
		}
	}
	if len(r.Documents) > 0 {
		h2("documents")
		for _, d := range r.Documents {
			line(d.Filename + " (" + d.MediaType + ", " + sizeLabel(lang, d.Size) + ") " + i18n.Date(lang, d.CreatedAt))
		}
	}
	if len(r.Relationships) > 0 {
		h2("relationships")
		for _, x := range r.Relationships {
			line(x.KindLabel + ": " + x.OtherName)
		}
	}
	if len(r.BusinessRecords) > 0 {
		h2("business_records")
		for _, b := range r.BusinessRecords {
			s := b.KindLabel + " " + b.Number + " · " + b.IssuedLabel + " · " + b.AmountLabel
			if b.Description != "" {
				s += " · " + b.Description
			}
			line(s)
		}
	}
	h2("rights")
	for _, t := range r.Rights {
		line(t)
		pdf.Ln(1)
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("rights: pdf: %w", err)
	}
	return pdf.Output(w)
}

// personLabels are the person's codes in the reader's words (worked out
// here for a report made before they were part of it).
func (r *Report) personLabels() *PersonLabels {
	if r.PersonLabels != nil {
		return r.PersonLabels
	}
	if r.Person == nil {
		return &PersonLabels{}
	}
	return labelPerson(r.Language, r.Person)
}

func orNone(lang string, v []string) string {
	if len(v) == 0 {
		return Label(lang, "none")
	}
	return strings.Join(v, ", ")
}

// WriteXLSX renders the report as a workbook, one sheet per section, every
// header and value in the person's language.
func (r *Report) WriteXLSX(w io.Writer) error {
	lang := r.Language
	f := excelize.NewFile()
	defer f.Close()
	L := func(k string) string { return Label(lang, k) }
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	sheets := 0
	sheet := func(name string, header []any, widths []float64, rows [][]any) error {
		name = sheetName(name)
		if sheets == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		sheets++
		for i, wd := range widths {
			col, _ := excelize.ColumnNumberToName(i + 1)
			if err := f.SetColWidth(name, col, col, wd); err != nil {
				return err
			}
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		if err := sw.SetRow("A1", header, excelize.RowOpts{StyleID: bold}); err != nil {
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
		pl := r.personLabels()
		rows = append(rows, []any{L("name"), strings.TrimSpace(p.FirstName + " " + p.LastName)}, []any{L("emails"), strings.Join(p.Emails, ", ")})
		for _, ph := range pl.Phones {
			rows = append(rows, []any{L("phones"), ph})
		}
		rows = append(rows, []any{L("address"), strings.Join(nonEmpty(p.Address.Street, p.Address.PostalCode, p.Address.City, p.Address.Country), ", ")},
			[]any{L("language"), pl.Language}, []any{L("status"), pl.Status})
	}
	for _, fl := range r.Fields {
		rows = append(rows, []any{fl.Label, fl.Value})
	}
	if r.Organisation != nil {
		rows = append(rows, []any{L("organisation"), r.Organisation.Name})
	}
	rows = append(rows, []any{L("sources"), orNone(lang, r.SourceLabels)}, []any{L("recipients"), orNoneList(lang, r.recipientLines())})
	if r.Controller != "" {
		rows = append(rows, []any{L("controller"), r.Controller})
	}
	rows = append(rows, []any{L("generated"), i18n.DateTime(lang, r.GeneratedAt)})
	if err := sheet(L("person"), []any{L("field"), L("value")}, []float64{28, 60}, rows); err != nil {
		return err
	}
	if len(r.Purposes) > 0 {
		rows = rows[:0]
		for _, p := range r.Purposes {
			rows = append(rows, []any{p.Name, p.Description, p.StateLabel, p.LegalBasisLabel, p.RetentionLabel})
		}
		if err := sheet(L("purposes"), []any{L("purpose"), L("purpose_description"), L("state"), L("basis"), L("retention")}, []float64{28, 48, 16, 48, 20}, rows); err != nil {
			return err
		}
	}
	if len(r.Consents) > 0 {
		rows = rows[:0]
		for _, c := range r.Consents {
			rows = append(rows, []any{i18n.DateTime(lang, c.At), c.PurposeName, c.KindLabel, c.LegalBasisLabel, c.SourceLabel, strings.Join(c.Evidence, "; ")})
		}
		if err := sheet(L("consents"), []any{L("when"), L("purpose"), L("event"), L("basis"), L("source"), L("evidence")}, []float64{22, 28, 16, 48, 22, 48}, rows); err != nil {
			return err
		}
	}
	if len(r.Activities) > 0 {
		rows = rows[:0]
		for _, a := range r.Activities {
			rows = append(rows, []any{i18n.DateTime(lang, a.OccurredAt), a.KindLabel, a.Subject, a.Body, a.Author})
		}
		if err := sheet(L("activities"), []any{L("when"), L("kind"), L("subject"), L("body"), L("author")}, []float64{22, 14, 32, 48, 20}, rows); err != nil {
			return err
		}
	}
	if len(r.Documents) > 0 {
		rows = rows[:0]
		for _, d := range r.Documents {
			rows = append(rows, []any{d.Filename, d.MediaType, sizeLabel(lang, d.Size), i18n.Date(lang, d.CreatedAt)})
		}
		if err := sheet(L("documents"), []any{L("file"), L("media_type"), L("size"), L("date")}, []float64{36, 20, 16, 14}, rows); err != nil {
			return err
		}
	}
	if len(r.Relationships) > 0 {
		rows = rows[:0]
		for _, x := range r.Relationships {
			rows = append(rows, []any{x.KindLabel, x.OtherName})
		}
		if err := sheet(L("relationships"), []any{L("kind"), L("name")}, []float64{24, 36}, rows); err != nil {
			return err
		}
	}
	if len(r.BusinessRecords) > 0 {
		rows = rows[:0]
		for _, b := range r.BusinessRecords {
			rows = append(rows, []any{b.KindLabel, b.Number, b.IssuedLabel, b.AmountLabel, b.Description})
		}
		if err := sheet(L("business_records"), []any{L("kind"), L("number"), L("date"), L("amount"), L("subject")}, []float64{14, 18, 14, 16, 48}, rows); err != nil {
			return err
		}
	}
	rows = rows[:0]
	for _, t := range r.Rights {
		rows = append(rows, []any{t})
	}
	if err := sheet(L("rights"), []any{L("rights")}, []float64{120}, rows); err != nil {
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
