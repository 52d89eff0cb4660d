package ui

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
)

// xlsxType is the media type of an Office Open XML workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// exportLegal serves the contact card's legal basis section as an Excel
// workbook to send to the person: it is written in the person's language.
func (s *Server) exportLegal(w http.ResponseWriter, r *http.Request, p page) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	ctx := r.Context()
	d, err := s.loadLegal(ctx, id)
	var purposes []*ledger.Purpose
	var sources []ledger.Source
	if err == nil {
		purposes, err = s.ledger.Purposes(ctx, true) // archived ones may still have a history
	}
	if err == nil {
		sources, err = s.ledger.Sources(ctx)
	}
	if de, ok := ledger.AsError(err); ok && de.Kind == ledger.KindNotFound {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "legal basis export")
		return
	}
	buf, err := legalWorkbook(d, purposes, sources)
	if err != nil {
		s.failErr(w, p, err, "legal basis export")
		return
	}
	h := w.Header()
	h.Set("Content-Type", xlsxType)
	h.Set("Content-Disposition", `attachment; filename="legal-basis-`+strconv.FormatInt(id, 10)+`.xlsx"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// legalWorkbook writes the workbook: the current legal basis of every
// purpose, then the full consent history.
func legalWorkbook(d contactData, purposes []*ledger.Purpose, sources []ledger.Source) (*bytes.Buffer, error) {
	l := d.Person.Language
	if !i18n.Supported(l) {
		l = "en"
	}
	t := func(key string) string { return i18n.T(l, key) }
	n := newNames(l, purposes, sources)
	pname, sname, basis := n.Purpose, n.Source, n.Basis
	version := func(v int) any {
		if v == 0 {
			return ""
		}
		return v
	}

	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	// werr keeps the first error, so the cells below read as a table.
	var werr error
	set := func(sheet string, col, row int, v any) {
		if werr != nil {
			return
		}
		if tm, ok := v.(time.Time); ok {
			v = i18n.DateTime(l, tm) // in the installation's zone, with the zone
		}
		cell, err := excelize.CoordinatesToCellName(col, row)
		if err == nil {
			err = f.SetCellValue(sheet, cell, v)
		}
		werr = err
	}
	header := func(sheet string, row int, titles ...string) {
		for i, title := range titles {
			set(sheet, i+1, row, title)
		}
		if werr == nil {
			werr = f.SetRowStyle(sheet, row, row, bold)
		}
	}
	widths := func(sheet string, ws ...float64) {
		for i, wd := range ws {
			if werr != nil {
				return
			}
			col, _ := excelize.ColumnNumberToName(i + 1)
			werr = f.SetColWidth(sheet, col, col, wd)
		}
	}

	// Sheet 1: who, then the current legal basis of every purpose.
	legal := sheetName(t("card.legal"))
	if err := f.SetSheetName("Sheet1", legal); err != nil {
		return nil, err
	}
	p := d.Person
	set(legal, 1, 1, t("contacts.name"))
	set(legal, 2, 1, strings.TrimSpace(p.FirstName+" "+p.LastName))
	set(legal, 1, 2, t("contacts.email"))
	set(legal, 2, 2, strings.Join(p.Emails, ", "))
	if werr == nil {
		werr = f.SetCellStyle(legal, "A1", "A2", bold)
	}
	header(legal, 4, t("card.purpose"), t("card.consent"), t("card.basis"), t("card.source"), t("export.updated"), t("export.by"), t("card.version"))
	for i, c := range d.Consents {
		row := 5 + i
		set(legal, 1, row, pname(c.Purpose))
		set(legal, 2, row, i18n.Label(l, "consent_state", string(c.State)))
		set(legal, 3, row, basis(c.LegalBasis))
		set(legal, 4, row, sname(c.Source))
		if c.UpdatedAt != nil {
			set(legal, 5, row, *c.UpdatedAt)
		}
		set(legal, 6, row, c.UpdatedBy)
		set(legal, 7, row, version(c.TextVersion))
	}
	widths(legal, 28, 18, 56, 22, 24, 18, 14)

	// Sheet 2: every consent event, newest first.
	history := sheetName(t("card.history"))
	if history == legal {
		history += " 2"
	}
	if _, err := f.NewSheet(history); err != nil {
		return nil, err
	}
	header(history, 1, t("export.time"), t("card.purpose"), t("card.consent"), t("card.basis"), t("card.source"), t("card.version"), t("card.language"), t("card.evidence"))
	for i, ev := range d.History {
		row := 2 + i
		set(history, 1, row, ev.OccurredAt)
		set(history, 2, row, pname(ev.Purpose))
		set(history, 3, row, i18n.Label(l, "consent_state", string(ev.Kind)))
		set(history, 4, row, basis(ev.LegalBasis))
		set(history, 5, row, sname(ev.Source))
		set(history, 6, row, version(ev.TextVersion))
		set(history, 7, row, languageName(ev.Language))
		set(history, 8, row, ev.Evidence.Note)
	}
	widths(history, 24, 28, 16, 56, 22, 12, 12, 48)
	if werr != nil {
		return nil, werr
	}
	f.SetActiveSheet(0)
	return f.WriteToBuffer()
}

// sheetName makes s a valid sheet name: at most 31 characters, none of
// : \ / ? * [ ].
func sheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '-'
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 31 {
		s = string(r[:31])
	}
	return s
}

// names shows purposes, sources and legal bases by their names in one
// language, as staff and persons read them, not by their keys.
type names struct {
	lang     string
	purposes map[string]string
	sources  map[string]string
}

func newNames(lang string, purposes []*ledger.Purpose, sources []ledger.Source) names {
	n := names{lang: lang, purposes: map[string]string{}, sources: map[string]string{}}
	for _, pu := range purposes {
		for _, l := range []string{lang, "en"} {
			if tx, ok := pu.Texts[l]; ok && tx.Name != "" {
				n.purposes[pu.Key] = tx.Name
				break
			}
		}
	}
	for _, src := range sources {
		if src.Name != "" {
			n.sources[src.Key] = sourceName(lang, src)
		}
	}
	return n
}

// sourceName is the source's name in lang: a seeded source still under its
// seeded English name is shown translated; a renamed or added one as named.
func sourceName(lang string, src ledger.Source) string {
	if def := ledger.DefaultSourceName(src.Key); def != "" && src.Name == def {
		if t := i18n.T(lang, "label.source."+src.Key); t != "label.source."+src.Key {
			return t
		}
	}
	return src.Name
}

// Purpose is the purpose's name, or its key when it has none.
func (n names) Purpose(key string) string {
	if v, ok := n.purposes[key]; ok {
		return v
	}
	return key
}

// Source is the source's name, or its key when it has none.
func (n names) Source(key string) string {
	if v, ok := n.sources[key]; ok {
		return v
	}
	return key
}

// Basis is the legal basis with its article as the law cites it in the
// language: "Einwilligung (Art. 6 Abs. 1 lit. a DSGVO)".
func (n names) Basis(b ledger.LegalBasis) string {
	if b == "" || !b.Valid() {
		return string(b)
	}
	return i18n.Label(n.lang, "legal_basis", string(b)) + " (" + i18n.Label(n.lang, "legal_basis_article", string(b)) + ")"
}

// languageName is a language code as its speakers name it ("Dansk").
func languageName(code string) string {
	if code == "" {
		return ""
	}
	if s := i18n.T(code, "lang."+code); s != "lang."+code {
		return s
	}
	return code
}
