package ui

import "github.com/consento/consento/internal/outreach"

// EnableOutreach turns on the staff pages of e-mail and self-service:
// outbox, mail templates, web forms, consent requests and self-service
// requests.
func (s *Server) EnableOutreach(o *outreach.Service) { s.out = o }
