package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
)

type personPage struct {
	Items      []*ledger.Person `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func (s *Server) listPersons(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	q := r.URL.Query()
	f := ledger.PersonFilter{
		Query: q.Get("q"), Status: q.Get("status"), Source: q.Get("source"), Light: ledger.Light(q.Get("traffic_light")),
		Purpose: q.Get("purpose"), PurposeState: q.Get("purpose_state"), Cursor: q.Get("cursor"),
	}
	var fields []ledger.FieldError
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fields = append(fields, ledger.FieldError{Field: "limit", Message: "must be a number from 1 to 500"})
		}
		f.Limit = n
	}
	if v := q.Get("organisation_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fields = append(fields, ledger.FieldError{Field: "organisation_id", Message: "must be a number"})
		}
		f.OrganisationID = n
	}
	if len(fields) > 0 {
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "some query parameters are invalid", fields)
		return
	}
	ps, next, err := s.ledger.ListPersons(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ps == nil {
		ps = []*ledger.Person{}
	}
	writeJSON(w, http.StatusOK, personPage{Items: ps, NextCursor: next})
}

func (s *Server) createPerson(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	create(s, w, r, tok, maxBody, func(ctx context.Context, in ledger.PersonInput) (*ledger.Person, error) {
		return s.ledger.CreatePerson(ctx, tok.Actor(), in)
	}, s.ledger.Person, func(p *ledger.Person) string { return "/api/v1/persons/" + strconv.FormatInt(p.ID, 10) })
}

func (s *Server) findPerson(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	var in struct {
		Email string `json:"email"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	p, err := s.ledger.PersonByEmail(r.Context(), in.Email)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) getPerson(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	p, err := s.ledger.Person(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) updatePerson(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var patch ledger.PersonPatch
	if _, ok := decode(w, r, maxBody, &patch); !ok {
		return
	}
	p, err := s.ledger.UpdatePerson(r.Context(), tok.Actor(), id, patch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) personConsents(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	st, err := s.ledger.Consents(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"person_id": id, "consents": st})
}

func (s *Server) personConsent(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	st, err := s.ledger.ConsentFor(r.Context(), id, r.PathValue("purpose"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) personHistory(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	h, err := s.ledger.History(r.Context(), id, r.URL.Query().Get("purpose"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"person_id": id, "events": h})
}

func (s *Server) listOrganisations(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "some query parameters are invalid",
				[]ledger.FieldError{{Field: "limit", Message: "must be a number from 1 to 500"}})
			return
		}
		limit = n
	}
	os, err := s.ledger.Organisations(r.Context(), r.URL.Query().Get("q"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if os == nil {
		os = []*ledger.Organisation{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": os})
}

func (s *Server) createOrganisation(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	create(s, w, r, tok, maxBody, func(ctx context.Context, in ledger.OrganisationInput) (*ledger.Organisation, error) {
		return s.ledger.CreateOrganisation(ctx, tok.Actor(), in)
	}, s.ledger.Organisation, func(o *ledger.Organisation) string { return "/api/v1/organisations/" + strconv.FormatInt(o.ID, 10) })
}

func (s *Server) getOrganisation(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	o, err := s.ledger.Organisation(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) updateOrganisation(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in ledger.OrganisationInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	o, err := s.ledger.UpdateOrganisation(r.Context(), tok.Actor(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}
