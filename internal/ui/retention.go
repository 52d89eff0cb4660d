package ui

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/retention"
)

// Retention (GDPR Art. 5(1)(e)): the settings, the purposes' periods, who
// would expire now and why, running a sweep, past sweeps; and the manual
// retention date on the contact card. Only admins and privacy officers.
func init() {
	pageNames = append(pageNames, "retention")
	for _, role := range []string{auth.RoleAdmin, auth.RolePrivacyOfficer} {
		permissions[role]["retention.manage"] = true
	}
}

func (s *Server) retentionRoutes() {
	s.handle("GET /retention", "retention.manage", s.retentionPage)
	s.handle("POST /retention/settings", "retention.manage", s.saveRetentionSettings)
	s.handle("POST /retention/run", "retention.manage", s.runRetention)
	s.handle("POST /contacts/{id}/retention", "retention.manage", s.setContactRetention)
}

func (s *Server) retention() *retention.Service { return retention.New(s.ledger, retention.Instance()) }

// retentionShown bounds the expired persons the page lists.
const retentionShown = 200

type retentionData struct {
	Settings retention.Settings
	Form     struct {
		InactiveDays, Action string
		Scheduled            bool
	}
	Purposes []*ledger.Purpose
	Names    names
	Expired  []expiredRow // the first retentionShown
	Total    int          // expired in all
	Skipped  int
	// Preview: the expired list was asked for (it reads every person, so
	// it is not computed on every view of the page).
	Preview bool
	Sweeps  []retention.Sweep
	Message string
	Errors  []ledger.FieldError
}

func (s *Server) renderRetention(w http.ResponseWriter, r *http.Request, p page, d retentionData, status int) {
	ctx := r.Context()
	svc := s.retention()
	var err error
	if d.Settings, err = svc.Settings(ctx); err == nil {
		if d.Purposes, err = s.ledger.Purposes(ctx, false); err == nil {
			d.Names = newNames(p.Lang, d.Purposes, nil)
			var list []retention.Expired
			if d.Preview {
				list, err = svc.Preview(ctx)
			}
			if err == nil {
				d.Total = len(list)
				for _, e := range list {
					if e.Skip != "" {
						d.Skipped++
					}
				}
				for _, e := range list[:min(len(list), retentionShown)] {
					d.Expired = append(d.Expired, expiredRow{Expired: e, Why: retentionWhy(p.Lang, e, d.Names.Purpose(e.Purpose))})
				}
				d.Sweeps, err = svc.Sweeps(ctx, 20)
			}
		}
	}
	if err != nil {
		s.failErr(w, p, err, "retention page")
		return
	}
	if d.Form.Action == "" {
		d.Form.InactiveDays, d.Form.Action, d.Form.Scheduled = strconv.Itoa(d.Settings.InactiveDays), d.Settings.Action, d.Settings.Scheduled
	}
	p.Title, p.Data = i18n.T(p.Lang, "retention.title"), d
	s.render(w, status, "retention", p)
}

func (s *Server) retentionPage(w http.ResponseWriter, r *http.Request, p page) {
	q := r.URL.Query()
	switch {
	case q.Get("saved") == "1":
		p.Flash = i18n.T(p.Lang, "retention.flash.saved")
	case q.Get("swept") != "":
		p.Flash = s.sweptFlash(r.Context(), p, q.Get("swept"))
	}
	s.renderRetention(w, r, p, retentionData{Preview: q.Get("preview") == "1"}, http.StatusOK)
}

// sweptFlash reports the sweep just run.
func (s *Server) sweptFlash(ctx context.Context, p page, id string) string {
	sweeps, err := s.retention().Sweeps(ctx, 20)
	if err != nil {
		return ""
	}
	for _, w := range sweeps {
		if strconv.FormatInt(w.ID, 10) != id {
			continue
		}
		if w.DryRun {
			return i18n.T(p.Lang, "retention.flash.dry", w.Expired, w.Skipped)
		}
		return i18n.T(p.Lang, "retention.flash.swept", w.Expired, w.Anonymized, w.Deleted, w.Skipped)
	}
	return ""
}

func (s *Server) saveRetentionSettings(w http.ResponseWriter, r *http.Request, p page) {
	var d retentionData
	d.Form.InactiveDays, d.Form.Action, d.Form.Scheduled = strings.TrimSpace(r.PostFormValue("inactive_days")), r.PostFormValue("action"), r.PostFormValue("scheduled") == "1"
	days, err := strconv.Atoi(d.Form.InactiveDays)
	if d.Form.InactiveDays == "" {
		days, err = 0, nil
	}
	if err != nil {
		d.Message, d.Errors = i18n.T(p.Lang, "retention.days.invalid"), []ledger.FieldError{{Field: "inactive_days", Message: i18n.T(p.Lang, "retention.days.invalid")}}
		s.renderRetention(w, r, p, d, http.StatusUnprocessableEntity)
		return
	}
	if d.Form.Action != retention.ActionAnonymize && d.Form.Action != retention.ActionDelete {
		msg := i18n.T(p.Lang, "retention.action.invalid", i18n.Label(p.Lang, "retention_action", retention.ActionAnonymize), i18n.Label(p.Lang, "retention_action", retention.ActionDelete))
		d.Message, d.Errors = msg, []ledger.FieldError{{Field: "action", Message: msg}}
		s.renderRetention(w, r, p, d, http.StatusUnprocessableEntity)
		return
	}
	_, err = s.retention().SaveSettings(r.Context(), userActor(p), retention.Settings{InactiveDays: days, Action: d.Form.Action, Scheduled: d.Form.Scheduled})
	if de, ok := ledger.AsError(err); ok {
		d.Message, d.Errors = de.Message, de.Fields
		s.renderRetention(w, r, p, d, domainStatus(de))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "retention settings")
		return
	}
	http.Redirect(w, r, "/retention?saved=1", http.StatusSeeOther)
}

func (s *Server) runRetention(w http.ResponseWriter, r *http.Request, p page) {
	rep, err := s.retention().Run(r.Context(), userActor(p), r.PostFormValue("dry_run") == "1")
	if err != nil {
		s.failErr(w, p, err, "retention sweep")
		return
	}
	http.Redirect(w, r, "/retention?swept="+strconv.FormatInt(rep.ID, 10), http.StatusSeeOther)
}

// setContactRetention sets or clears the manual retention date from the
// contact card.
func (s *Server) setContactRetention(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	date := strings.TrimSpace(r.PostFormValue("retain_until"))
	if r.PostFormValue("clear") == "1" {
		date = ""
	}
	err := s.retention().SetRetainUntil(r.Context(), userActor(p), id, date, r.PostFormValue("reason"))
	if de, ok := ledger.AsError(err); ok && de.Kind != ledger.KindNotFound {
		// The card again, with the reason in its retention section.
		d, lerr := s.loadCard(r.Context(), id, p.Lang)
		if lerr != nil {
			s.failErr(w, p, lerr, "contact card")
			return
		}
		d.RetentionError = i18n.T(p.Lang, "error.invalid", problemText(p.Lang, de))
		p.Title, p.Data = d.Person.FirstName+" "+d.Person.LastName, d
		s.render(w, domainStatus(de), "contact", p)
		return
	}
	if err != nil {
		s.failErr(w, p, err, "retention date")
		return
	}
	http.Redirect(w, r, "/contacts/"+strconv.FormatInt(id, 10)+"#retention", http.StatusSeeOther)
}

// expiredRow is an expired person with the rule worded for the reader.
type expiredRow struct {
	retention.Expired
	Why string
}

// retentionWhy says in lang which rule expired the person.
func retentionWhy(lang string, e retention.Expired, purpose string) string {
	switch e.Rule {
	case retention.RuleManual:
		return i18n.T(lang, "retention.why.manual", e.RetainUntil)
	case retention.RulePurpose:
		return i18n.N(lang, "retention.why.purpose", e.Days, purpose, e.Days, i18n.Date(lang, e.LastInteraction))
	default:
		return i18n.N(lang, "retention.why.inactive", e.Days, e.Days, i18n.Date(lang, e.LastInteraction))
	}
}
