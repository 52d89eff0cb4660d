package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/webhook"
)

// Webhooks: subscriptions of external systems, the delivery log, replay.

// EnableWebhooks gives the API the configured webhook service (receiver
// URL rules); without it a strict default is used.
func (s *Server) EnableWebhooks(w *webhook.Service) { s.webhookSvc = w }

func (s *Server) hooks() *webhook.Service {
	if s.webhookSvc != nil {
		return s.webhookSvc
	}
	return webhook.New(s.db, webhook.Options{Log: s.log})
}

func (s *Server) webhookRoutes() {
	const base = "/api/v1/webhooks"
	s.handle("GET /api/v1/webhook-event-types", s.scoped("webhooks:admin", s.listWebhookEventTypes))
	s.handle("GET "+base, s.scoped("webhooks:admin", s.listWebhooks))
	s.handle("POST "+base, s.scoped("webhooks:admin", s.createWebhook))
	s.handle("GET "+base+"/{id}", s.scoped("webhooks:admin", s.getWebhook))
	s.handle("PUT "+base+"/{id}", s.scoped("webhooks:admin", s.updateWebhook))
	s.handle("DELETE "+base+"/{id}", s.scoped("webhooks:admin", s.deleteWebhook))
	s.handle("POST "+base+"/{id}/rotate-secret", s.scoped("webhooks:admin", s.rotateWebhookSecret))
	s.handle("POST "+base+"/{id}/test", s.scoped("webhooks:admin", s.testWebhook))
	s.handle("GET /api/v1/webhook-deliveries", s.scoped("webhooks:admin", s.listWebhookDeliveries))
	s.handle("GET /api/v1/webhook-deliveries/{id}", s.scoped("webhooks:admin", s.getWebhookDelivery))
	s.handle("POST /api/v1/webhook-deliveries/{id}/replay", s.scoped("webhooks:admin", s.replayWebhookDelivery))
}

func (s *Server) listWebhookEventTypes(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	writeJSON(w, http.StatusOK, items[string]{Items: webhook.EventTypes()})
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	out, err := s.hooks().Subscriptions(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, items[*webhook.Subscription]{Items: out})
}

// webhookWithSecret is a subscription as created: the only answer that
// shows its secret.
type webhookWithSecret struct {
	*webhook.Subscription
	Secret string `json:"secret"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	var in webhook.SubscriptionInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	sub, secret, err := s.hooks().Create(r.Context(), tok.Actor(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/webhooks/"+strconv.FormatInt(sub.ID, 10))
	writeJSON(w, http.StatusCreated, webhookWithSecret{sub, secret})
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.hooks().Subscription(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	var in webhook.SubscriptionInput
	if _, ok := decode(w, r, maxBody, &in); !ok {
		return
	}
	out, err := s.hooks().Update(r.Context(), tok.Actor(), id, in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if err := s.hooks().Delete(r.Context(), tok.Actor(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// rotatedSecret is the answer of a rotation.
type rotatedSecret struct {
	Secret              string    `json:"secret"`
	PreviousSecretUntil time.Time `json:"previous_secret_until"`
}

func (s *Server) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	secret, err := s.hooks().RotateSecret(r.Context(), tok.Actor(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sub, err := s.hooks().Subscription(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := rotatedSecret{Secret: secret}
	if sub.PreviousSecretUntil != nil {
		out.PreviousSecretUntil = *sub.PreviousSecretUntil
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	did, err := s.hooks().SendTest(r.Context(), tok.Actor(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.hooks().Delivery(r.Context(), did)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/webhook-deliveries/"+strconv.FormatInt(did, 10))
	writeJSON(w, http.StatusAccepted, out)
}

// deliveryPage is a page of the delivery log; next_before continues it.
type deliveryPage struct {
	Items      []*webhook.Delivery `json:"items"`
	NextBefore int64               `json:"next_before,omitempty"`
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	q := r.URL.Query()
	f := webhook.DeliveryFilter{Status: q.Get("status"), EventType: q.Get("event_type"), Limit: 100}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"subscription_id", &f.SubscriptionID}, {"before", &f.Before}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", p.name+" must be a positive integer", nil)
				return
			}
			*p.dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			problem(w, r, http.StatusUnprocessableEntity, "validation", "Invalid request", "limit must be between 1 and 500", nil)
			return
		}
		f.Limit = n
	}
	out, err := s.hooks().Deliveries(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := deliveryPage{Items: out}
	if len(out) == f.Limit {
		page.NextBefore = out[len(out)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) getWebhookDelivery(w http.ResponseWriter, r *http.Request, _ *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.hooks().Delivery(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) replayWebhookDelivery(w http.ResponseWriter, r *http.Request, tok *auth.Token) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	out, err := s.hooks().Replay(r.Context(), tok.Actor(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, out)
}
