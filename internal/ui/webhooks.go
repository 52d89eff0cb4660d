package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/webhook"
)

// Webhooks (settings): subscriptions, the delivery log and replay. Admins
// only: a subscription decides where data about persons goes.

func init() {
	pageNames = append(pageNames, "settings_webhooks", "settings_webhook", "settings_webhook_delivery")
	permissions[auth.RoleAdmin]["webhooks.manage"] = true
}

// EnableWebhooks gives the UI the configured webhook service (receiver URL
// rules); without it a strict default is used.
func (s *Server) EnableWebhooks(w *webhook.Service) { s.webhookSvc = w }

func (s *Server) hooks() *webhook.Service {
	if s.webhookSvc != nil {
		return s.webhookSvc
	}
	return webhook.New(s.ledger.DB(), webhook.Options{Log: s.log})
}

func (s *Server) webhookRoutes() {
	s.handle("GET /settings/webhooks", "webhooks.manage", s.webhooksPage)
	s.handle("POST /settings/webhooks", "webhooks.manage", s.createWebhook)
	s.handle("GET /settings/webhooks/{id}", "webhooks.manage", s.webhookPage)
	s.handle("POST /settings/webhooks/{id}", "webhooks.manage", s.updateWebhook)
	s.handle("POST /settings/webhooks/{id}/delete", "webhooks.manage", s.deleteWebhook)
	s.handle("POST /settings/webhooks/{id}/rotate", "webhooks.manage", s.rotateWebhook)
	s.handle("POST /settings/webhooks/{id}/test", "webhooks.manage", s.testWebhook)
	s.handle("GET /settings/webhook-deliveries/{id}", "webhooks.manage", s.webhookDeliveryPage)
	s.handle("POST /settings/webhook-deliveries/{id}/replay", "webhooks.manage", s.replayWebhookDelivery)
}

type webhooksData struct {
	Subscriptions []*webhook.Subscription
	Sub           *webhook.Subscription // the one being edited
	Types         []string
	Form          webhook.SubscriptionInput
	Active        bool
	Secret        string // shown once, after creation or rotation
	Message       string
	Errors        []ledger.FieldError
	Deliveries    []*webhook.Delivery
	Statuses      []string
	Status        string // the log's filter
}

// Chosen reports whether the form lists the event type.
func (d webhooksData) Chosen(t string) bool { return slices.Contains(d.Form.EventTypes, t) }

func webhookForm(r *http.Request) webhook.SubscriptionInput {
	active := r.PostFormValue("active") == "1"
	return webhook.SubscriptionInput{URL: strings.TrimSpace(r.PostFormValue("url")), Description: r.PostFormValue("description"),
		EventTypes: r.PostForm["event_type"], Active: &active}
}

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, p page, d webhooksData, status int) {
	var err error
	if d.Subscriptions, err = s.hooks().Subscriptions(r.Context()); err != nil {
		s.failErr(w, p, err, "webhooks page")
		return
	}
	d.Types = webhook.EventTypes()
	p.Title, p.Data = i18n.T(p.Lang, "webhooks.title"), d
	s.render(w, status, "settings_webhooks", p)
}

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request, p page) {
	if r.URL.Query().Get("saved") == "deleted" {
		p.Flash = i18n.T(p.Lang, "webhooks.flash.deleted")
	}
	s.renderWebhooks(w, r, p, webhooksData{Active: true}, http.StatusOK)
}

// refused shows a refused change on its page with the form as typed.
func (s *Server) webhookRefused(w http.ResponseWriter, p page, err error, what string, show func(message string, fields []ledger.FieldError)) {
	de, ok := ledger.AsError(err)
	if !ok || de.Kind == ledger.KindNotFound {
		s.failErr(w, p, err, what)
		return
	}
	show(de.Message, de.Fields)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p page) {
	in := webhookForm(r)
	sub, secret, err := s.hooks().Create(r.Context(), userActor(p), in)
	if err != nil {
		s.webhookRefused(w, p, err, "create webhook", func(msg string, fields []ledger.FieldError) {
			s.renderWebhooks(w, r, p, webhooksData{Form: in, Active: *in.Active, Message: msg, Errors: fields}, http.StatusUnprocessableEntity)
		})
		return
	}
	p.Flash = i18n.T(p.Lang, "webhooks.flash.created")
	s.renderWebhook(w, r, p, sub.ID, webhooksData{Secret: secret}, http.StatusCreated)
}

// renderWebhook shows one subscription: its form, actions and delivery log.
func (s *Server) renderWebhook(w http.ResponseWriter, r *http.Request, p page, id int64, d webhooksData, status int) {
	sub, err := s.hooks().Subscription(r.Context(), id)
	if err != nil {
		s.failErr(w, p, err, "webhook page")
		return
	}
	d.Sub, d.Types, d.Statuses = sub, webhook.EventTypes(), webhook.Statuses
	if d.Form.URL == "" && d.Message == "" {
		d.Form = webhook.SubscriptionInput{URL: sub.URL, Description: sub.Description, EventTypes: sub.EventTypes}
		d.Active = sub.Active
	}
	if !slices.Contains(webhook.Statuses, d.Status) {
		d.Status = ""
	}
	if d.Deliveries, err = s.hooks().Deliveries(r.Context(), webhook.DeliveryFilter{SubscriptionID: id, Status: d.Status, Limit: 100}); err != nil {
		s.failErr(w, p, err, "webhook deliveries")
		return
	}
	p.Title, p.Data = i18n.T(p.Lang, "webhooks.title"), d
	s.render(w, status, "settings_webhook", p)
}

func (s *Server) webhookPage(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("saved") != "":
		p.Flash = i18n.T(p.Lang, "webhooks.flash.saved")
	case q.Get("sent") != "":
		p.Flash = i18n.T(p.Lang, "webhooks.flash.test")
	}
	s.renderWebhook(w, r, p, id, webhooksData{Status: q.Get("status")}, http.StatusOK)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	in := webhookForm(r)
	if _, err := s.hooks().Update(r.Context(), userActor(p), id, in); err != nil {
		s.webhookRefused(w, p, err, "update webhook", func(msg string, fields []ledger.FieldError) {
			s.renderWebhook(w, r, p, id, webhooksData{Form: in, Active: *in.Active, Message: msg, Errors: fields}, http.StatusUnprocessableEntity)
		})
		return
	}
	http.Redirect(w, r, "/settings/webhooks/"+strconv.FormatInt(id, 10)+"?saved=1", http.StatusSeeOther)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if err := s.hooks().Delete(r.Context(), userActor(p), id); err != nil {
		s.failErr(w, p, err, "delete webhook")
		return
	}
	http.Redirect(w, r, "/settings/webhooks?saved=deleted", http.StatusSeeOther)
}

func (s *Server) rotateWebhook(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	secret, err := s.hooks().RotateSecret(r.Context(), userActor(p), id)
	if err != nil {
		s.failErr(w, p, err, "rotate webhook secret")
		return
	}
	p.Flash = i18n.T(p.Lang, "webhooks.flash.rotated")
	s.renderWebhook(w, r, p, id, webhooksData{Secret: secret}, http.StatusOK)
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if _, err := s.hooks().SendTest(r.Context(), userActor(p), id); err != nil {
		s.webhookRefused(w, p, err, "test webhook", func(msg string, _ []ledger.FieldError) {
			s.renderWebhook(w, r, p, id, webhooksData{Message: msg}, http.StatusConflict)
		})
		return
	}
	http.Redirect(w, r, "/settings/webhooks/"+strconv.FormatInt(id, 10)+"?sent=1", http.StatusSeeOther)
}

type webhookDeliveryData struct {
	Delivery *webhook.Delivery
	Sub      *webhook.Subscription
	Payload  string
	Message  string
}

func (s *Server) renderWebhookDelivery(w http.ResponseWriter, r *http.Request, p page, id int64, message string, status int) {
	d, err := s.hooks().Delivery(r.Context(), id)
	if err != nil {
		s.failErr(w, p, err, "webhook delivery page")
		return
	}
	sub, err := s.hooks().Subscription(r.Context(), d.SubscriptionID)
	if err != nil {
		s.failErr(w, p, err, "webhook delivery page")
		return
	}
	p.Title, p.Data = i18n.T(p.Lang, "webhooks.delivery"), webhookDeliveryData{Delivery: d, Sub: sub, Payload: indentJSON(d.Payload), Message: message}
	s.render(w, status, "settings_webhook_delivery", p)
}

func (s *Server) webhookDeliveryPage(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if r.URL.Query().Get("replayed") != "" {
		p.Flash = i18n.T(p.Lang, "webhooks.flash.replayed")
	}
	s.renderWebhookDelivery(w, r, p, id, "", http.StatusOK)
}

func (s *Server) replayWebhookDelivery(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, i18n.T(p.Lang, "error.notfound"))
		return
	}
	if _, err := s.hooks().Replay(r.Context(), userActor(p), id); err != nil {
		s.webhookRefused(w, p, err, "replay webhook delivery", func(msg string, _ []ledger.FieldError) {
			s.renderWebhookDelivery(w, r, p, id, msg, http.StatusConflict)
		})
		return
	}
	http.Redirect(w, r, "/settings/webhook-deliveries/"+strconv.FormatInt(id, 10)+"?replayed=1", http.StatusSeeOther)
}

// indentJSON lays a payload out for reading; what is not JSON stays as it is.
func indentJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}
