package ui

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
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
	Expired  []retention.Expired // the first retentionShown
	Total    int                 // expired in all
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
				d.Expired = list[:min(len(list), retentionShown)]
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
	d.Names = newNames(p.Lang, d.Purposes, nil)
	p.Title, p.Data = translate(p.Lang, "retention.title"), d
	s.render(w, status, "retention", p)
}

func (s *Server) retentionPage(w http.ResponseWriter, r *http.Request, p page) {
	q := r.URL.Query()
	switch {
	case q.Get("saved") == "1":
		p.Flash = translate(p.Lang, "retention.flash.saved")
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
			return translate(p.Lang, "retention.flash.dry", w.Expired, w.Skipped)
		}
		return translate(p.Lang, "retention.flash.swept", w.Expired, w.Anonymized, w.Deleted, w.Skipped)
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
		d.Message, d.Errors = translate(p.Lang, "retention.days.invalid"), []ledger.FieldError{{Field: "inactive_days", Message: translate(p.Lang, "retention.days.invalid")}}
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
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
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
		d.RetentionError = translate(p.Lang, "error.invalid", de.Detail())
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

func init() {
	addMessages(map[string]map[string]string{
		"en": {
			"nav.retention":              "Retention",
			"retention.title":            "Retention",
			"retention.intro":            "Personal data is kept no longer than its purposes need (GDPR Art. 5(1)(e)). A person expires when their manual retention date has passed; else when every active purpose's period has passed since their last interaction; else, with no active purpose left, when the period below has passed. Restricted persons and persons with an open request case are never touched.",
			"retention.settings":         "Settings",
			"retention.inactive_days":    "Days kept after the last interaction when no purpose is active (0: no limit)",
			"retention.action":           "What a sweep does with an expired person",
			"retention.action.anonymize": "Anonymize (erasure level 3)",
			"retention.action.delete":    "Delete the person and everything linked to them",
			"retention.scheduled":        "Sweep on a schedule (every CONSENTO_RETENTION_INTERVAL)",
			"retention.save":             "Save settings",
			"retention.days.invalid":     "must be a whole number of days",
			"retention.flash.saved":      "Retention settings saved.",
			"retention.flash.dry":        "Dry run: %d expired, %d of them skipped. Nothing was changed.",
			"retention.flash.swept":      "Sweep done: %d expired, %d anonymized, %d deleted, %d skipped.",
			"retention.purposes":         "Periods of the purposes",
			"retention.purposes.hint":    "Days after the last interaction; 0 means no limit. Change them in the purpose settings.",
			"retention.period":           "Period (days)",
			"retention.nolimit":          "no limit",
			"retention.expired":          "What would expire now",
			"retention.expired.count":    "Expired: %d (skipped: %d).",
			"retention.expired.more":     "Only the first %d are listed.",
			"retention.expired.none":     "Nobody has expired.",
			"retention.expired.show":     "Show who would expire now",
			"retention.person":           "Person",
			"retention.why":              "Why",
			"retention.skip":             "Skipped",
			"retention.skip.restricted":  "restricted (Art. 18)",
			"retention.skip.open_case":   "open request case",
			"retention.skip.error":       "error",
			"retention.run":              "Run a sweep now",
			"retention.run.dry":          "Dry run (list only)",
			"retention.run.real":         "Run the sweep",
			"retention.run.warn":         "The sweep anonymizes or deletes every expired person listed above who is not skipped. This cannot be undone.",
			"retention.sweeps":           "Past sweeps",
			"retention.sweeps.none":      "No sweep yet.",
			"retention.started":          "Started",
			"retention.kind":             "Kind",
			"retention.kind.dry":         "dry run",
			"retention.kind.real":        "sweep",
			"retention.examined":         "Examined",
			"retention.expired.col":      "Expired",
			"retention.anonymized":       "Anonymized",
			"retention.deleted":          "Deleted",
			"retention.skipped":          "Skipped",
			"retention.instance":         "Instance",
			"retention.error":            "Error",
			"retention.card":             "Retention",
			"retention.card.until":       "Kept until %s (manual retention date); expires the day after.",
			"retention.card.none":        "No manual retention date: the purposes' periods apply.",
			"retention.card.date":        "Manual retention date",
			"retention.card.reason":      "Reason",
			"retention.card.set":         "Set date",
			"retention.card.clear":       "Clear date",
			"dashboard.retention":        "Retention sweeps",
		},
		"de": {
			"nav.retention":              "Aufbewahrung",
			"retention.title":            "Aufbewahrung",
			"retention.intro":            "Personenbezogene Daten werden nicht länger gespeichert, als ihre Zwecke es erfordern (Art. 5 Abs. 1 lit. e DSGVO). Eine Person läuft ab, wenn ihr manuelles Aufbewahrungsdatum verstrichen ist; sonst, wenn die Frist jedes aktiven Zwecks seit ihrer letzten Interaktion abgelaufen ist; sonst, ohne aktiven Zweck, wenn die Frist unten abgelaufen ist. Eingeschränkte Personen und Personen mit offenem Antrag werden nie angetastet.",
			"retention.settings":         "Einstellungen",
			"retention.inactive_days":    "Tage nach der letzten Interaktion, wenn kein Zweck aktiv ist (0: unbegrenzt)",
			"retention.action":           "Was ein Lauf mit einer abgelaufenen Person tut",
			"retention.action.anonymize": "Anonymisieren (Löschstufe 3)",
			"retention.action.delete":    "Die Person und alles Verknüpfte löschen",
			"retention.scheduled":        "Regelmäßig prüfen (alle CONSENTO_RETENTION_INTERVAL)",
			"retention.save":             "Einstellungen speichern",
			"retention.days.invalid":     "muss eine ganze Zahl von Tagen sein",
			"retention.flash.saved":      "Aufbewahrungseinstellungen gespeichert.",
			"retention.flash.dry":        "Probelauf: %d abgelaufen, davon %d übersprungen. Nichts wurde geändert.",
			"retention.flash.swept":      "Lauf beendet: %d abgelaufen, %d anonymisiert, %d gelöscht, %d übersprungen.",
			"retention.purposes":         "Fristen der Zwecke",
			"retention.purposes.hint":    "Tage nach der letzten Interaktion; 0 heißt unbegrenzt. Geändert werden sie in den Zweck-Einstellungen.",
			"retention.period":           "Frist (Tage)",
			"retention.nolimit":          "unbegrenzt",
			"retention.expired":          "Was jetzt abliefe",
			"retention.expired.count":    "Abgelaufen: %d (übersprungen: %d).",
			"retention.expired.more":     "Nur die ersten %d werden gezeigt.",
			"retention.expired.none":     "Niemand ist abgelaufen.",
			"retention.expired.show":     "Zeigen, wer jetzt abliefe",
			"retention.person":           "Person",
			"retention.why":              "Grund",
			"retention.skip":             "Übersprungen",
			"retention.skip.restricted":  "eingeschränkt (Art. 18)",
			"retention.skip.open_case":   "offener Antrag",
			"retention.skip.error":       "Fehler",
			"retention.run":              "Jetzt prüfen",
			"retention.run.dry":          "Probelauf (nur auflisten)",
			"retention.run.real":         "Lauf starten",
			"retention.run.warn":         "Der Lauf anonymisiert oder löscht jede oben gelistete abgelaufene Person, die nicht übersprungen wird. Das lässt sich nicht rückgängig machen.",
			"retention.sweeps":           "Bisherige Läufe",
			"retention.sweeps.none":      "Noch kein Lauf.",
			"retention.started":          "Begonnen",
			"retention.kind":             "Art",
			"retention.kind.dry":         "Probelauf",
			"retention.kind.real":        "Lauf",
			"retention.examined":         "Geprüft",
			"retention.expired.col":      "Abgelaufen",
			"retention.anonymized":       "Anonymisiert",
			"retention.deleted":          "Gelöscht",
			"retention.skipped":          "Übersprungen",
			"retention.instance":         "Instanz",
			"retention.error":            "Fehler",
			"retention.card":             "Aufbewahrung",
			"retention.card.until":       "Aufbewahrt bis %s (manuelles Datum); läuft am Tag danach ab.",
			"retention.card.none":        "Kein manuelles Aufbewahrungsdatum: Es gelten die Fristen der Zwecke.",
			"retention.card.date":        "Manuelles Aufbewahrungsdatum",
			"retention.card.reason":      "Grund",
			"retention.card.set":         "Datum setzen",
			"retention.card.clear":       "Datum entfernen",
			"dashboard.retention":        "Aufbewahrungsläufe",
		},
		"da": {
			"nav.retention":              "Opbevaring",
			"retention.title":            "Opbevaring",
			"retention.intro":            "Personoplysninger opbevares ikke længere, end formålene kræver (GDPR art. 5, stk. 1, litra e). En person udløber, når den manuelle opbevaringsdato er passeret; ellers når fristen for hvert aktivt formål er udløbet siden den seneste interaktion; ellers, uden aktive formål, når fristen nedenfor er udløbet. Begrænsede personer og personer med en åben anmodning røres aldrig.",
			"retention.settings":         "Indstillinger",
			"retention.inactive_days":    "Dage efter seneste interaktion, når intet formål er aktivt (0: ubegrænset)",
			"retention.action":           "Hvad en kørsel gør med en udløbet person",
			"retention.action.anonymize": "Anonymisér (sletteniveau 3)",
			"retention.action.delete":    "Slet personen og alt tilknyttet",
			"retention.scheduled":        "Kør efter tidsplan (hver CONSENTO_RETENTION_INTERVAL)",
			"retention.save":             "Gem indstillinger",
			"retention.days.invalid":     "skal være et helt antal dage",
			"retention.flash.saved":      "Opbevaringsindstillinger gemt.",
			"retention.flash.dry":        "Prøvekørsel: %d udløbet, heraf %d sprunget over. Intet blev ændret.",
			"retention.flash.swept":      "Kørsel færdig: %d udløbet, %d anonymiseret, %d slettet, %d sprunget over.",
			"retention.purposes":         "Formålenes frister",
			"retention.purposes.hint":    "Dage efter seneste interaktion; 0 betyder ubegrænset. De ændres i formålsindstillingerne.",
			"retention.period":           "Frist (dage)",
			"retention.nolimit":          "ubegrænset",
			"retention.expired":          "Hvad der ville udløbe nu",
			"retention.expired.count":    "Udløbet: %d (springes over: %d).",
			"retention.expired.more":     "Kun de første %d vises.",
			"retention.expired.none":     "Ingen er udløbet.",
			"retention.expired.show":     "Vis, hvem der ville udløbe nu",
			"retention.person":           "Person",
			"retention.why":              "Hvorfor",
			"retention.skip":             "Sprunget over",
			"retention.skip.restricted":  "begrænset (art. 18)",
			"retention.skip.open_case":   "åben anmodning",
			"retention.skip.error":       "fejl",
			"retention.run":              "Kør nu",
			"retention.run.dry":          "Prøvekørsel (kun liste)",
			"retention.run.real":         "Start kørslen",
			"retention.run.warn":         "Kørslen anonymiserer eller sletter hver udløbet person ovenfor, som ikke springes over. Det kan ikke fortrydes.",
			"retention.sweeps":           "Tidligere kørsler",
			"retention.sweeps.none":      "Ingen kørsler endnu.",
			"retention.started":          "Startet",
			"retention.kind":             "Art",
			"retention.kind.dry":         "prøvekørsel",
			"retention.kind.real":        "kørsel",
			"retention.examined":         "Undersøgt",
			"retention.expired.col":      "Udløbet",
			"retention.anonymized":       "Anonymiseret",
			"retention.deleted":          "Slettet",
			"retention.skipped":          "Sprunget over",
			"retention.instance":         "Instans",
			"retention.error":            "Fejl",
			"retention.card":             "Opbevaring",
			"retention.card.until":       "Opbevares til %s (manuel dato); udløber dagen efter.",
			"retention.card.none":        "Ingen manuel opbevaringsdato: formålenes frister gælder.",
			"retention.card.date":        "Manuel opbevaringsdato",
			"retention.card.reason":      "Begrundelse",
			"retention.card.set":         "Sæt dato",
			"retention.card.clear":       "Fjern dato",
			"dashboard.retention":        "Opbevaringskørsler",
		},
	})
}
