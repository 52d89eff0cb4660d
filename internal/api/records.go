package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/records"
)

// Linked records of a person: activities, documents, relationships and
// business records, each listed and added under /persons/{id}/….

func (s *Server) recordRoutes() {
	s.handle("GET /api/v1/persons/{id}/activities", s.scoped("persons:read", s.listActivities))
	s.handle("POST /api/v1/persons/{id}/activities", s.scoped("persons:write", s.addActivity))
	s.handle("GET /api/v1/persons/{id}/documents", s.scoped("persons:read", s.listDocuments))
	s.handle("POST /api/v1/persons/{id}/documents", s.scoped("persons:write", s.addDocument))
	s.handle("GET /api/v1/documents/{id}/content", s.scoped("persons:read", s.documentContent))
	s.handle("GET /api/v1/persons/{id}/relationships", s.scoped("persons:read", s.listRelationships))
	s.handle("POST /api/v1/persons/{id}/relationships", s.scoped("persons:write", s.addRelationship))
	s.handle("GET /api/v1/persons/{id}/business-records", s.scoped("persons:read", s.listBusinessRecords))
	s.handle("POST /api/v1/persons/{id}/business-records", s.scoped("persons:write", s.addBusinessRecord))
	s.handle("POST /api/v1/activities/import", s.scoped("persons:write", s.importRecords(records.ImportActivities)))
	s.handle("POST /api/v1/business-records/import", s.scoped("persons:write", s.importRecords(records.ImportBusinessRecords)))
}

func (s *Server) records() *records.Service { return records.New(s.db) }

type items[T any] struct {
	Items []T `json:"items"`
}

// personList answers GET /persons/{id}/<records>, 404 for an unknown person.
func personList[T any](s *Server, w http.ResponseWriter, r *http.Request, list func(context.Context, int64) ([]T, error)) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if _, err := s.ledger.Person(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := list(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[T]{Items: out})
}

// personAdd answers POST /persons/{id}/<records>: the body names no person.
func personAdd[In, Out any](s *Server, w http.ResponseWriter, r *http.Request, limit int64, set func(*In, int64), add func(context.Context, In) (Out, error)) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in In
	if _, ok := decode(w, r, limit, &in); !ok {
		return
	}
	set(&in, id)
	out, err := add(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listActivities(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	personList(s, w, r, s.records().Activities)
}

func (s *Server) addActivity(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	personAdd(s, w, r, maxBody, func(in *records.ActivityInput, id int64) { in.PersonID = id },
		func(ctx context.Context, in records.ActivityInput) (*records.Activity, error) {
			return s.records().AddActivity(ctx, tok.Actor(), in)
		})
}

func (s *Server) listDocuments(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	personList(s, w, r, s.records().Documents)
}

func (s *Server) addDocument(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	personAdd(s, w, r, records.MaxDocument*4/3+4096, func(in *records.DocumentInput, id int64) { in.PersonID = id },
		func(ctx context.Context, in records.DocumentInput) (*records.Document, error) {
			return s.records().AddDocument(ctx, tok.Actor(), in)
		})
}

func (s *Server) documentContent(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	d, err := s.records().Document(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", d.MediaType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.NewReplacer(`"`, "", "\r", "", "\n", "").Replace(d.Filename)+`"`)
	w.Header().Set("Content-Length", strconv.FormatInt(d.Size, 10))
	w.Write(d.Content)
}

func (s *Server) listRelationships(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	personList(s, w, r, s.records().Relationships)
}

func (s *Server) addRelationship(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	personAdd(s, w, r, maxBody, func(in *records.RelationshipInput, id int64) { in.PersonID = id },
		func(ctx context.Context, in records.RelationshipInput) (*records.Relationship, error) {
			return s.records().AddRelationship(ctx, tok.Actor(), in)
		})
}

func (s *Server) listBusinessRecords(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	personList(s, w, r, s.records().BusinessRecords)
}

func (s *Server) addBusinessRecord(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	personAdd(s, w, r, maxBody, func(in *records.BusinessRecordInput, id int64) { in.PersonID = id },
		func(ctx context.Context, in records.BusinessRecordInput) (*records.BusinessRecord, error) {
			return s.records().AddBusinessRecord(ctx, tok.Actor(), in)
		})
}

// maxImport bounds a CSV import of linked records.
const maxImport = 64 << 20

func (s *Server) importRecords(kind string) func(http.ResponseWriter, *http.Request, *auth.Token) {
	return func(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			problem(w, r, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", "send the file as text/csv", nil)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxImport))
		if err != nil {
			problem(w, r, http.StatusRequestEntityTooLarge, "body-too-large", "Body too large", "the file must be at most 64 MiB", nil)
			return
		}
		dry := r.URL.Query().Get("dry_run") == "true"
		rep, err := s.records().Import(r.Context(), tok.Actor(), kind, bytes.NewReader(body), dry)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	}
}
