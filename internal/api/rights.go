package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/rights"
)

// Data-subject rights (GDPR Art. 12–22): request cases and the actions on
// them. Nothing is disclosed or erased before the case's identity check.

func (s *Server) rightsRoutes() {
	const base = "/api/v1/rights-requests"
	s.handle("GET "+base, s.scoped("rights:read", s.listRequests))
	s.handle("POST "+base, s.scoped("rights:write", s.createRequest))
	s.handle("GET "+base+"/{id}", s.scoped("rights:read", s.getRequest))
	s.handle("POST "+base+"/{id}/verify", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().VerifyIdentity(ctx, tok.Actor(), id, in.Method)
	})))
	s.handle("POST "+base+"/{id}/link", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().LinkPerson(ctx, tok.Actor(), id, in.PersonID)
	})))
	s.handle("POST "+base+"/{id}/assign", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().Assign(ctx, tok.Actor(), id, in.AssigneeID)
	})))
	s.handle("POST "+base+"/{id}/extend", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().Extend(ctx, tok.Actor(), id, in.Reason)
	})))
	s.handle("POST "+base+"/{id}/calendar", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().SetCaseCalendar(ctx, tok.Actor(), id, in.Country, in.Region)
	})))
	s.handle("POST "+base+"/{id}/start", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().Start(ctx, tok.Actor(), id)
	})))
	s.handle("POST "+base+"/{id}/complete", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().Complete(ctx, tok.Actor(), id, in.Outcome)
	})))
	s.handle("POST "+base+"/{id}/reject", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().Reject(ctx, tok.Actor(), id, in.Reason)
	})))
	s.handle("POST "+base+"/{id}/notes", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().AddNote(ctx, tok.Actor(), id, in.Body)
	})))
	s.handle("POST "+base+"/{id}/restriction", s.scoped("rights:write", s.requestStep(func(ctx context.Context, tok *auth.Token, id int64, in stepIn) (*rights.Request, error) {
		return s.rights().Restrict(ctx, tok.Actor(), id, in.Reason)
	})))
	s.handle("POST "+base+"/{id}/objection", s.scoped("rights:write", s.objectRequest))
	s.handle("GET "+base+"/{id}/report", s.scoped("rights:write", s.requestReport))
	s.handle("POST "+base+"/{id}/report-email", s.scoped("rights:write", s.reportEmail))
	s.handle("GET "+base+"/{id}/portability", s.scoped("rights:write", s.requestPortability))
	s.handle("GET "+base+"/{id}/erasure-preview", s.scoped("rights:write", s.erasurePreview))
	s.handle("POST "+base+"/{id}/erasure", s.scoped("rights:write", s.erase))
	s.handle("POST /api/v1/persons/{id}/restriction/lift", s.scoped("rights:write", s.liftRestriction))
	s.handle("GET /api/v1/holidays", s.scoped("rights:read", s.listHolidays))
	s.handle("PUT /api/v1/holidays", s.scoped("rights:write", s.setHolidays))
	s.handle("GET /api/v1/report-sections", s.scoped("rights:read", s.getReportSections))
	s.handle("PUT /api/v1/report-sections", s.scoped("rights:write", s.setReportSections))
}

func (s *Server) rights() *rights.Service { return rights.New(s.ledger) }

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	q := r.URL.Query()
	f := rights.RequestFilter{State: q.Get("state"), Type: q.Get("type")}
	if v := q.Get("person_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "person_id must be a positive number", nil)
			return
		}
		f.PersonID = n
	}
	out, err := s.rights().Requests(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[*rights.Request]{Items: out})
}

func (s *Server) createRequest(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	create(s, w, r, tok, maxBody, func(ctx context.Context, in rights.RequestInput) (*rights.Request, error) {
		if in.Channel == "" {
			in.Channel = "api"
		}
		return s.rights().CreateRequest(ctx, tok.Actor(), in)
	}, s.rights().Request, func(x *rights.Request) string { return "/api/v1/rights-requests/" + strconv.FormatInt(x.ID, 10) })
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.rights().Request(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// stepIn is the body of every step on a case; each step reads its field.
type stepIn struct {
	Method     string `json:"method"`
	Reason     string `json:"reason"`
	Outcome    string `json:"outcome"`
	Body       string `json:"body"`
	AssigneeID int64  `json:"assignee_id"`
	PersonID   int64  `json:"person_id"`
	Country    string `json:"country"`
	Region     string `json:"region"`
}

func (s *Server) requestStep(do func(context.Context, *auth.Token, int64, stepIn) (*rights.Request, error)) func(http.ResponseWriter, *http.Request, *auth.Token) {
	return func(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		var in stepIn
		if r.ContentLength != 0 {
			if _, ok := decode(w, r, maxBody, &in); !ok {
				return
			}
		}
		out, err := do(r.Context(), tok, id, in)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) objectRequest(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in struct {
		Purpose string `json:"purpose"`
	}
	if r.ContentLength != 0 {
		if _, ok := decode(w, r, maxBody, &in); !ok {
			return
		}
	}
	ev, err := s.rights().Object(r.Context(), tok.Actor(), id, in.Purpose)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ev)
}

func download(w http.ResponseWriter, ct, name string, b []byte) {
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(b)
}

func (s *Server) requestReport(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if !strings.Contains(" json html pdf xlsx ", " "+format+" ") {
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "format must be json, html, pdf or xlsx", nil)
		return
	}
	rep, err := s.rights().Report(r.Context(), tok.Actor(), id, format)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rep.Controller = s.controller.Name
	b, ct, err := rep.Render(format)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	download(w, ct, "access-report-"+strconv.FormatInt(id, 10)+"."+format, b)
}

func (s *Server) requestPortability(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "format must be json or csv", nil)
		return
	}
	p, err := s.rights().Portability(r.Context(), tok.Actor(), id, format)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := "personal-data-" + strconv.FormatInt(id, 10) + "." + format
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		if err := p.WriteCSV(w); err != nil {
			s.log.Warn("portability csv", "err", err)
		}
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	writeJSON(w, http.StatusOK, p)
}

func erasureLevel(w http.ResponseWriter, r *http.Request, v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 3 {
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "level must be 1, 2 or 3", nil)
		return 0, false
	}
	return n, true
}

func (s *Server) erasurePreview(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	level, ok := erasureLevel(w, r, r.URL.Query().Get("level"))
	if !ok {
		return
	}
	p, err := s.rights().PreviewErasure(r.Context(), id, level)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) erase(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in struct {
		Level  int    `json:"level"`
		Reason string `json:"reason"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	if _, ok := erasureLevel(w, r, strconv.Itoa(in.Level)); !ok {
		return
	}
	res, err := s.rights().Erase(r.Context(), tok.Actor(), id, in.Level, in.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) liftRestriction(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	if err := s.rights().LiftRestriction(r.Context(), tok.Actor(), id, in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.ledger.Person(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

type holidaysDoc struct {
	Country  string           `json:"country"`
	Region   string           `json:"region,omitempty"`
	Holidays []rights.Holiday `json:"holidays"`
	// Read only: whether the calendar has built-in holidays, and its days
	// off in the year asked for.
	Builtin bool                 `json:"builtin"`
	Year    int                  `json:"year,omitempty"`
	DaysOff []rights.CalendarDay `json:"days_off,omitempty"`
}

// holidaysOf answers with a calendar's entries and its days off in year.
func (s *Server) holidaysOf(w http.ResponseWriter, r *http.Request, country, region string, year int) {
	hs, err := s.rights().Holidays(r.Context(), country, region)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	off, err := s.rights().DaysOff(r.Context(), country, region, year)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c := strings.ToUpper(strings.TrimSpace(country))
	writeJSON(w, http.StatusOK, holidaysDoc{Country: c, Region: strings.ToUpper(strings.TrimSpace(region)), Holidays: hs,
		Builtin: rights.HasBuiltin(c), Year: year, DaysOff: off})
}

func (s *Server) listHolidays(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	q := r.URL.Query()
	year := time.Now().UTC().Year()
	if v := q.Get("year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "year must be a year such as 2026", nil)
			return
		}
		year = n
	}
	s.holidaysOf(w, r, q.Get("country"), q.Get("region"), year)
}

func (s *Server) setHolidays(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in holidaysDoc
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	if err := s.rights().SetHolidays(r.Context(), tok.Actor(), in.Country, in.Region, in.Holidays); err != nil {
		s.fail(w, r, err)
		return
	}
	year := in.Year
	if year == 0 {
		year = time.Now().UTC().Year()
	}
	s.holidaysOf(w, r, in.Country, in.Region, year)
}

type sectionsDoc struct {
	Sections []string `json:"sections"`
}

func (s *Server) getReportSections(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	sec, err := s.rights().ReportSections(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sectionsDoc{Sections: sec})
}

func (s *Server) setReportSections(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	var in sectionsDoc
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	if err := s.rights().SetReportSections(r.Context(), in.Sections); err != nil {
		s.fail(w, r, err)
		return
	}
	s.getReportSections(w, r, nil)
}
