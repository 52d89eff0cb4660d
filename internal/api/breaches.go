package api

import (
	"net/http"
	"strconv"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/breach"
)

// The register of personal data breaches (GDPR Art. 33, 34).

func (s *Server) breachRoutes() {
	const base = "/api/v1/breaches"
	s.handle("GET "+base, s.scoped("breaches:read", s.listBreaches))
	s.handle("POST "+base, s.scoped("breaches:write", s.createBreach))
	s.handle("GET "+base+"/{id}", s.scoped("breaches:read", s.getBreach))
	s.handle("PUT "+base+"/{id}", s.scoped("breaches:write", s.updateBreach))
	s.handle("GET "+base+"/{id}/persons", s.scoped("breaches:read", s.listBreachPersons))
	s.handle("POST "+base+"/{id}/persons", s.scoped("breaches:write", s.linkBreachPersons))
	s.handle("POST "+base+"/{id}/persons/{person_id}/unlink", s.scoped("breaches:write", s.unlinkBreachPerson))
	s.handle("POST "+base+"/{id}/authority-notification", s.scoped("breaches:write", s.recordBreachAuthority))
	s.handle("GET "+base+"/{id}/notice-preview", s.scoped("breaches:read", s.previewBreachNotice))
	s.handle("POST "+base+"/{id}/notify-persons", s.scoped("breaches:write", s.notifyBreachPersons))
	s.handle("GET "+base+"/{id}/notifications", s.scoped("breaches:read", s.listBreachEntries))
	s.handle("POST "+base+"/{id}/entries", s.scoped("breaches:write", s.addBreachEntry))
}

func (s *Server) breaches() *breach.Service { return breach.New(s.db).SetController(s.controller.Name) }

// maxLinkBody fits MaxLink e-mail addresses.
const maxLinkBody = 16 << 20

func (s *Server) listBreaches(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	out, err := s.breaches().List(r.Context(), breach.Filter{Status: r.URL.Query().Get("status")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[*breach.Breach]{Items: out})
}

func (s *Server) createBreach(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in breach.Input
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	out, err := s.breaches().Create(r.Context(), tok.Actor(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/breaches/"+strconv.FormatInt(out.ID, 10))
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getBreach(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.breaches().Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateBreach(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in breach.Input
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	out, err := s.breaches().Update(r.Context(), tok.Actor(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listBreachPersons(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.breaches().Persons(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[breach.AffectedPerson]{Items: out})
}

func (s *Server) linkBreachPersons(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in breach.LinkInput
	if _, ok := decode(w, r, maxLinkBody, &in); !ok {
		return
	}
	out, err := s.breaches().LinkPersons(r.Context(), tok.Actor(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// unlinkBreachPerson removes a person linked by mistake, with the reason;
// a person who was sent the notice stays linked (409 person-notified).
func (s *Server) unlinkBreachPerson(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	pid, ok := pathID(w, r, "person_id")
	if !ok {
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	b := s.breaches()
	if err := b.UnlinkPerson(r.Context(), tok.Actor(), id, pid, in.Reason); err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := b.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) recordBreachAuthority(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in breach.AuthorityInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	out, err := s.breaches().RecordAuthority(r.Context(), tok.Actor(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) previewBreachNotice(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.breaches().PreviewNotice(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) notifyBreachPersons(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.breaches().NotifyPersons(r.Context(), tok.Actor(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listBreachEntries(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.breaches().Entries(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[breach.Entry]{Items: out})
}

func (s *Server) addBreachEntry(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in breach.EntryInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	out, err := s.breaches().AddEntry(r.Context(), tok.Actor(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}
