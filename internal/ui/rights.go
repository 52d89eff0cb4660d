package ui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/rights"
)

// Data-subject request cases: the list by deadline with its traffic
// light, the case page with the actions its status allows, and the
// erasure preview. Marketing sees none of it; only admins and privacy
// officers erase, restrict or record objections.
func init() {
	pageNames = append(pageNames, "requests", "request", "erasure")
	for _, role := range []string{auth.RoleAdmin, auth.RolePrivacyOfficer, auth.RoleStaff} {
		permissions[role]["requests.view"] = true
		permissions[role]["requests.manage"] = true
	}
	for _, role := range []string{auth.RoleAdmin, auth.RolePrivacyOfficer} {
		permissions[role]["requests.erase"] = true
	}
}

func (s *Server) rightsRoutes() {
	s.handle("GET /requests", "requests.view", s.requestsPage)
	s.handle("POST /requests", "requests.manage", s.createRequest)
	s.handle("GET /requests/{id}", "requests.view", s.requestPage)
	s.handle("POST /requests/{id}/{step}", "requests.manage", s.requestStep)
	s.handle("GET /requests/{id}/report/{format}", "requests.manage", s.requestReport)
	s.handle("GET /requests/{id}/portability/{format}", "requests.manage", s.requestPortability)
	s.handle("GET /requests/{id}/erasure", "requests.erase", s.erasurePreview)
}

func (s *Server) rights() *rights.Service { return rights.New(s.ledger) }

func userActor(p page) audit.Actor {
	return audit.Actor{Type: "user", ID: strconv.FormatInt(p.Session.User.ID, 10)}
}

type requestsData struct {
	State    string
	States   []string
	Types    []string
	Counts   rights.Counts
	Requests []*rights.Request
}

func (s *Server) requestsPage(w http.ResponseWriter, r *http.Request, p page) {
	ctx := r.Context()
	d := requestsData{State: r.URL.Query().Get("state"), States: []string{"open", "overdue", "due_soon", "closed", "all"}, Types: rights.Types}
	if d.State == "" {
		d.State = "open"
	}
	var err error
	d.Requests, err = s.rights().Requests(ctx, rights.RequestFilter{State: d.State})
	if err == nil {
		d.Counts, err = s.rights().CountOpen(ctx)
	}
	if err != nil {
		s.failErr(w, p, err, "list requests")
		return
	}
	switch r.URL.Query().Get("done") {
	case "created":
		p.Flash = i18n.T(p.Lang, "requests.flash.created")
	}
	p.Title, p.Data = i18n.T(p.Lang, "requests.title"), d
	s.render(w, http.StatusOK, "requests", p)
}

func (s *Server) createRequest(w http.ResponseWriter, r *http.Request, p page) {
	in := rights.RequestInput{Type: r.PostFormValue("type"), Channel: "staff", RequesterEmail: strings.TrimSpace(r.PostFormValue("requester_email")),
		ReceivedOn: r.PostFormValue("received_on"), Country: r.PostFormValue("country"), Region: r.PostFormValue("region"), Details: r.PostFormValue("details")}
	if v := strings.TrimSpace(r.PostFormValue("person_id")); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			s.fail(w, p, http.StatusUnprocessableEntity, i18n.T(p.Lang, "error.invalid", i18n.Label(p.Lang, "field", "person_id")))
			return
		}
		in.PersonID = &id
	}
	req, err := s.rights().CreateRequest(r.Context(), userActor(p), in)
	if err != nil {
		s.failErr(w, p, err, "create request")
		return
	}
	http.Redirect(w, r, "/requests/"+strconv.FormatInt(req.ID, 10)+"?done=created", http.StatusSeeOther)
}

type requestData struct {
	Request  *rights.Request
	Person   *ledger.Person
	Users    []auth.User
	Assignee string
	Purposes []*ledger.Purpose
	Notices  *caseNotices // Art. 19 (recipients.go)
	Formats  []string
}

func pathInt(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

func (s *Server) requestPage(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	ctx := r.Context()
	req, err := s.rights().Request(ctx, id)
	if err != nil {
		s.failErr(w, p, err, "request page")
		return
	}
	d := requestData{Request: req, Formats: []string{"pdf", "html", "json", "xlsx"}}
	if req.PersonID != nil {
		if d.Person, err = s.ledger.Person(ctx, *req.PersonID); err != nil {
			s.failErr(w, p, err, "request page")
			return
		}
	}
	if d.Users, err = s.auth.Users(ctx); err != nil {
		s.failErr(w, p, err, "request page")
		return
	}
	for _, u := range d.Users {
		if req.AssigneeID != nil && u.ID == *req.AssigneeID {
			d.Assignee = u.Name
		}
	}
	if req.Type == rights.TypeObjection {
		if d.Purposes, err = s.ledger.Purposes(ctx, false); err != nil {
			s.failErr(w, p, err, "request page")
			return
		}
	}
	if d.Notices, err = s.recipientNotices(r, req, d.Person); err != nil {
		s.failErr(w, p, err, "request page")
		return
	}
	if done := r.URL.Query().Get("done"); done != "" {
		p.Flash = i18n.T(p.Lang, "requests.flash."+done)
	}
	p.Title, p.Data = i18n.T(p.Lang, "requests.case", req.ID), d
	s.render(w, http.StatusOK, "request", p)
}

// requestStep runs one action of the case page.
func (s *Server) requestStep(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	ctx, actor, svc := r.Context(), userActor(p), s.rights()
	step := r.PathValue("step")
	form := func(k string) string { return r.PostFormValue(k) }
	var err error
	switch step {
	case "verify":
		_, err = svc.VerifyIdentity(ctx, actor, id, form("method"))
	case "link":
		pid, _ := strconv.ParseInt(form("person_id"), 10, 64)
		_, err = svc.LinkPerson(ctx, actor, id, pid)
	case "assign":
		uid, _ := strconv.ParseInt(form("assignee_id"), 10, 64)
		_, err = svc.Assign(ctx, actor, id, uid)
	case "extend":
		_, err = svc.Extend(ctx, actor, id, form("reason"))
	case "calendar":
		_, err = svc.SetCaseCalendar(ctx, actor, id, form("country"), form("region"))
	case "start":
		_, err = svc.Start(ctx, actor, id)
	case "complete":
		_, err = svc.Complete(ctx, actor, id, form("outcome"))
	case "reject":
		_, err = svc.Reject(ctx, actor, id, form("reason"))
	case "note":
		_, err = svc.AddNote(ctx, actor, id, form("body"))
	case "erase", "restrict", "object", "lift":
		if !Can(p.Session.User.Role, "requests.erase") {
			s.fail(w, p, http.StatusForbidden, i18n.T(p.Lang, "error.forbidden"))
			return
		}
		switch step {
		case "erase":
			level, _ := strconv.Atoi(form("level"))
			_, err = svc.Erase(ctx, actor, id, level, form("reason"))
		case "restrict":
			_, err = svc.Restrict(ctx, actor, id, form("reason"))
		case "object":
			_, err = svc.Object(ctx, actor, id, form("purpose"))
		case "lift":
			var req *rights.Request
			if req, err = svc.Request(ctx, id); err == nil {
				if req.PersonID == nil {
					s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
					return
				}
				err = svc.LiftRestriction(ctx, actor, *req.PersonID, form("reason"))
			}
		}
	default:
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if err != nil {
		s.failErr(w, p, err, "request step")
		return
	}
	http.Redirect(w, r, "/requests/"+strconv.FormatInt(id, 10)+"?done="+url.QueryEscape(step), http.StatusSeeOther)
}

func (s *Server) requestReport(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	format := r.PathValue("format")
	if !ok || !strings.Contains(" pdf html json xlsx ", " "+format+" ") {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	rep, err := s.rights().Report(r.Context(), userActor(p), id, format)
	if err != nil {
		s.failErr(w, p, err, "access report")
		return
	}
	b, ct, err := rep.Render(format)
	if err != nil {
		s.failErr(w, p, err, "render access report")
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="access-report-`+strconv.FormatInt(id, 10)+`.`+format+`"`)
	w.Write(b)
}

func (s *Server) requestPortability(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	format := r.PathValue("format")
	if !ok || (format != "json" && format != "csv") {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	x, err := s.rights().Portability(r.Context(), userActor(p), id, format)
	if err != nil {
		s.failErr(w, p, err, "portability export")
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="personal-data-`+strconv.FormatInt(id, 10)+`.`+format+`"`)
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		if err := x.WriteCSV(w); err != nil {
			s.log.Warn("portability csv", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(x); err != nil {
		s.log.Warn("portability json", "err", err)
	}
}

type erasureData struct {
	Request *rights.Request
	Plan    *rights.ErasurePlan
	Levels  []int
}

func (s *Server) erasurePreview(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	level, err := strconv.Atoi(r.URL.Query().Get("level"))
	if err != nil {
		level = rights.LevelBlock
	}
	ctx := r.Context()
	req, err := s.rights().Request(ctx, id)
	if err != nil {
		s.failErr(w, p, err, "erasure preview")
		return
	}
	plan, err := s.rights().PreviewErasure(ctx, id, level)
	if err != nil {
		s.failErr(w, p, err, "erasure preview")
		return
	}
	for i, c := range plan.Changes {
		switch c.Key {
		case "sensitive":
			plan.Changes[i].Detail = sensitiveLabels(p.Lang, c.Detail)
		case "mail_unsent", "outbox":
			plan.Changes[i].Detail = mailLabels(p.Lang, c.Detail)
		}
	}
	p.Title, p.Data = i18n.T(p.Lang, "erasure.title", id), erasureData{Request: req, Plan: plan, Levels: []int{1, 2, 3}}
	s.render(w, http.StatusOK, "erasure", p)
}

// mailLabels names, in a change's detail listing mails as "template
// (state)", each template and state in lang.
func mailLabels(lang, list string) string {
	parts := strings.Split(list, "; ")
	for i, item := range parts {
		tpl, state, ok := strings.Cut(item, " (")
		state, closed := strings.CutSuffix(state, ")")
		if !ok || !closed {
			continue
		}
		if i18n.Has(lang, "templates."+tpl) || i18n.Has(i18n.Reference, "templates."+tpl) {
			tpl = i18n.T(lang, "templates."+tpl)
		}
		parts[i] = tpl + " (" + i18n.Label(lang, "mail_state", state) + ")"
	}
	return strings.Join(parts, "; ")
}
