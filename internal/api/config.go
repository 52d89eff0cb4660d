package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
)

func (s *Server) listPurposes(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	ps, err := s.ledger.Purposes(r.Context(), r.URL.Query().Get("archived") == "true")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ps == nil {
		ps = []*ledger.Purpose{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ps})
}

func (s *Server) createPurpose(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	create(s, w, r, tok, maxBody, func(ctx context.Context, in ledger.PurposeInput) (*ledger.Purpose, error) {
		return s.ledger.CreatePurpose(ctx, tok.Actor(), in)
	}, s.ledger.PurposeByID, func(p *ledger.Purpose) string { return "/api/v1/purposes/" + p.Key })
}

func (s *Server) getPurpose(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	p, err := s.ledger.Purpose(r.Context(), r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) updatePurpose(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var u ledger.PurposeUpdate
	if _, ok := decode(w, r, maxBody, &u); !ok {
		return
	}
	p, err := s.ledger.UpdatePurpose(r.Context(), tok.Actor(), r.PathValue("key"), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) purposeVersions(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	vs, err := s.ledger.PurposeVersions(r.Context(), r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"purpose": r.PathValue("key"), "versions": vs})
}

type legalBasisInfo struct {
	Key     ledger.LegalBasis `json:"key"`
	Article string            `json:"article"`
	DPV     string            `json:"dpv"`
}

func (s *Server) listLegalBases(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	out := make([]legalBasisInfo, len(ledger.LegalBases))
	for i, b := range ledger.LegalBases {
		out[i] = legalBasisInfo{Key: b, Article: b.Article(), DPV: b.DPV()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) listSources(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	src, err := s.ledger.Sources(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": src})
}

func (s *Server) createSource(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in ledger.SourceInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	src, err := s.ledger.CreateSource(r.Context(), tok.Actor(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/sources/"+src.Key)
	writeJSON(w, http.StatusCreated, src)
}

func (s *Server) updateSource(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in ledger.SourceInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	if in.Key != "" && in.Key != r.PathValue("key") {
		problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "the key of a source cannot be changed",
			[]ledger.FieldError{{Field: "key", Message: "cannot be changed"}})
		return
	}
	src, err := s.ledger.UpdateSource(r.Context(), tok.Actor(), r.PathValue("key"), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, src)
}

func (s *Server) listCustomFields(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	fs, err := s.ledger.CustomFields(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if fs == nil {
		fs = []ledger.CustomField{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": fs})
}

func (s *Server) createCustomField(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in ledger.CustomField
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	f, err := s.ledger.CreateCustomField(r.Context(), tok.Actor(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/custom-fields/"+strconv.FormatInt(f.ID, 10))
	writeJSON(w, http.StatusCreated, f)
}
