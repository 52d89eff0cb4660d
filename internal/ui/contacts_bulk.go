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

// maxSelected is the most contacts one bulk action takes: ListPersons'
// largest page.
const maxSelected = 500

// selectedIDs reads the contacts ticked in the contacts list (field "id").
// It answers the request itself and returns ok false when the selection
// is empty, too large or malformed.
func (s *Server) selectedIDs(w http.ResponseWriter, r *http.Request, p page) ([]int64, bool) {
	r.ParseForm()
	var ids []int64
	seen := map[int64]bool{}
	for _, v := range r.PostForm["id"] {
		id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || id <= 0 {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "contacts.error.select", maxSelected))
			return nil, false
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 || len(ids) > maxSelected {
		s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "contacts.error.select", maxSelected))
		return nil, false
	}
	return ids, true
}

// checkSelected runs the list check for a purpose over the selected
// contacts: each by primary e-mail address (as the list check of a traffic
// light does), or by id when they have none or no longer exist.
func (s *Server) checkSelected(w http.ResponseWriter, r *http.Request, p page) {
	ids, ok := s.selectedIDs(w, r, p)
	if !ok {
		return
	}
	ps, _, err := s.ledger.ListPersons(r.Context(), ledger.PersonFilter{IDs: ids, Limit: maxSelected})
	if err != nil {
		s.failErr(w, p, err, "check selected contacts")
		return
	}
	email := map[int64]string{}
	for _, pe := range ps {
		if len(pe.Emails) > 0 {
			email[pe.ID] = pe.Emails[0]
		}
	}
	i := 0
	next := func() (ledger.Ref, bool, error) {
		if i == len(ids) {
			return ledger.Ref{}, false, nil
		}
		id := ids[i]
		i++
		if e, ok := email[id]; ok {
			return ledger.ParseRef(e), true, nil
		}
		return ledger.ParseRef(strconv.FormatInt(id, 10)), true, nil
	}
	s.runCheck(w, r, p, listCheckData{Purpose: r.PostFormValue("purpose")}, len(ids), next)
}

// exportSelected serves the selected contacts as an Excel workbook.
func (s *Server) exportSelected(w http.ResponseWriter, r *http.Request, p page) {
	ids, ok := s.selectedIDs(w, r, p)
	if !ok {
		return
	}
	ps, _, err := s.ledger.ListPersons(r.Context(), ledger.PersonFilter{IDs: ids, Limit: maxSelected})
	var sources []ledger.Source
	if err == nil {
		sources, err = s.ledger.Sources(r.Context())
	}
	var buf *bytes.Buffer
	if err == nil {
		buf, err = contactsWorkbook(p.Lang, ps, sources)
	}
	if err != nil {
		s.failErr(w, p, err, "export contacts")
		return
	}
	h := w.Header()
	h.Set("Content-Type", xlsxType)
	h.Set("Content-Disposition", `attachment; filename="contacts-`+time.Now().UTC().Format("20060102-150405")+`.xlsx"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// contactsWorkbook writes one row per person: name, e-mail addresses,
// organisation id, traffic light, status and source, headed in lang.
func contactsWorkbook(lang string, ps []*ledger.Person, sources []ledger.Source) (*bytes.Buffer, error) {
	n := newNames(lang, nil, sources)
	f := excelize.NewFile()
	defer f.Close()
	sheet := sheetName(i18n.T(lang, "contacts.title"))
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	header := []any{i18n.T(lang, "contacts.name"), i18n.T(lang, "contacts.email"), i18n.T(lang, "contacts.organisation"),
		i18n.T(lang, "contacts.light"), i18n.T(lang, "contacts.status"), i18n.T(lang, "card.source")}
	sensKeys, sensLabels := sensitiveColumns(ps) // masked, as everywhere
	header = append(header, sensLabels...)
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		return nil, err
	}
	if err := f.SetRowStyle(sheet, 1, 1, bold); err != nil {
		return nil, err
	}
	for i, pe := range ps {
		var org any = ""
		if pe.OrganisationID != nil {
			org = *pe.OrganisationID
		}
		row := []any{strings.TrimSpace(pe.FirstName + " " + pe.LastName), strings.Join(pe.Emails, ", "), org,
			i18n.Label(lang, "traffic_light", string(pe.Light)), i18n.Label(lang, "person_status", pe.Status), n.Source(pe.Source)}
		row = append(row, sensitiveCells(pe, sensKeys)...)
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			return nil, err
		}
	}
	for i, wd := range []float64{30, 40, 16, 12, 12, 16} {
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(sheet, col, col, wd); err != nil {
			return nil, err
		}
	}
	return f.WriteToBuffer()
}
