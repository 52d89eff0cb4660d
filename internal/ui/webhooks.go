package ui

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/auth"
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
	p.Title, p.Data = translate(p.Lang, "webhooks.title"), d
	s.render(w, status, "settings_webhooks", p)
}

func (s *Server) webhooksPage(w http.ResponseWriter, r *http.Request, p page) {
	if r.URL.Query().Get("saved") == "deleted" {
		p.Flash = translate(p.Lang, "webhooks.flash.deleted")
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
	p.Flash = translate(p.Lang, "webhooks.flash.created")
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
	p.Title, p.Data = translate(p.Lang, "webhooks.title"), d
	s.render(w, status, "settings_webhook", p)
}

func (s *Server) webhookPage(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("saved") != "":
		p.Flash = translate(p.Lang, "webhooks.flash.saved")
	case q.Get("sent") != "":
		p.Flash = translate(p.Lang, "webhooks.flash.test")
	}
	s.renderWebhook(w, r, p, id, webhooksData{Status: q.Get("status")}, http.StatusOK)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
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
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
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
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
		return
	}
	secret, err := s.hooks().RotateSecret(r.Context(), userActor(p), id)
	if err != nil {
		s.failErr(w, p, err, "rotate webhook secret")
		return
	}
	p.Flash = translate(p.Lang, "webhooks.flash.rotated")
	s.renderWebhook(w, r, p, id, webhooksData{Secret: secret}, http.StatusOK)
}

func (s *Server) testWebhook(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
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
	p.Title, p.Data = translate(p.Lang, "webhooks.delivery"), webhookDeliveryData{Delivery: d, Sub: sub, Payload: indentJSON(d.Payload), Message: message}
	s.render(w, status, "settings_webhook_delivery", p)
}

func (s *Server) webhookDeliveryPage(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
		return
	}
	if r.URL.Query().Get("replayed") != "" {
		p.Flash = translate(p.Lang, "webhooks.flash.replayed")
	}
	s.renderWebhookDelivery(w, r, p, id, "", http.StatusOK)
}

func (s *Server) replayWebhookDelivery(w http.ResponseWriter, r *http.Request, p page) {
	id, ok := pathInt(r, "id")
	if !ok {
		s.fail(w, p, http.StatusNotFound, translate(p.Lang, "error.notfound"))
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

func init() {
	addMessages(map[string]map[string]string{
		"en": {
			"webhooks.title":                          "Webhooks",
			"webhooks.intro":                          "Webhooks keep an external system such as a CRM in sync: Consento sends consent changes, erasures, restrictions and request cases to the URLs below, signed (Standard Webhooks, HMAC-SHA256) and retried for about 28 hours. The messages hold identifiers and states only, never names, e-mail addresses or notes.",
			"webhooks.none":                           "No webhook subscriptions yet.",
			"webhooks.add":                            "Add subscription",
			"webhooks.edit":                           "Subscription",
			"webhooks.save":                           "Save subscription",
			"webhooks.back":                           "All webhook subscriptions",
			"webhooks.back.sub":                       "Back to the subscription",
			"webhooks.url":                            "Receiver URL",
			"webhooks.url.hint":                       "https:// on a public address; http:// only to this machine.",
			"webhooks.description":                    "Description",
			"webhooks.events":                         "Event types",
			"webhooks.gone":                           "the receiver answered 410 Gone",
			"webhooks.gone.long":                      "the receiver answered 410 Gone, so deliveries stopped. Save the subscription as active to resume.",
			"webhooks.secret":                         "Signing secret",
			"webhooks.secret.once":                    "Copy it now into the receiver: it is not shown again. The receiver checks the webhook-signature header with it.",
			"webhooks.rotating":                       "The previous secret also signs until %s.",
			"webhooks.test":                           "Send test event",
			"webhooks.rotate":                         "Rotate secret",
			"webhooks.delete":                         "Delete subscription and its delivery log",
			"webhooks.deliveries":                     "Delivery log",
			"webhooks.deliveries.none":                "No deliveries.",
			"webhooks.delivery":                       "Delivery",
			"webhooks.event":                          "Event type",
			"webhooks.attempts":                       "Attempts",
			"webhooks.attempts.none":                  "Not attempted yet.",
			"webhooks.last":                           "Last answer",
			"webhooks.created":                        "Created",
			"webhooks.next":                           "next attempt %s",
			"webhooks.filter":                         "Filter",
			"webhooks.status.all":                     "All",
			"webhooks.status.pending":                 "Pending",
			"webhooks.status.delivered":               "Delivered",
			"webhooks.status.failed":                  "Failed",
			"webhooks.replay":                         "Replay",
			"webhooks.payload":                        "Message sent",
			"webhooks.at":                             "Time",
			"webhooks.duration":                       "Duration",
			"webhooks.error":                          "Error",
			"webhooks.response":                       "Answer (first KiB)",
			"webhooks.flash.created":                  "Subscription created.",
			"webhooks.flash.saved":                    "Subscription saved.",
			"webhooks.flash.deleted":                  "Subscription deleted.",
			"webhooks.flash.rotated":                  "New secret created.",
			"webhooks.flash.test":                     "Test event queued.",
			"webhooks.flash.replayed":                 "Delivery queued again.",
			"webhooks.type.consent.granted":           "consent given",
			"webhooks.type.consent.withdrawn":         "consent withdrawn",
			"webhooks.type.consent.refused":           "consent refused",
			"webhooks.type.consent.objected":          "objection recorded",
			"webhooks.type.consent.expired":           "consent expired",
			"webhooks.type.consent.pending":           "consent requested",
			"webhooks.type.person.erased":             "person erased (with level)",
			"webhooks.type.person.deleted":            "person deleted (retention)",
			"webhooks.type.person.restricted":         "processing restricted",
			"webhooks.type.person.restriction_lifted": "restriction lifted",
			"webhooks.type.request.created":           "request case opened",
			"webhooks.type.request.updated":           "request case changed",
		},
		"de": {
			"webhooks.title":                          "Webhooks",
			"webhooks.intro":                          "Webhooks halten ein externes System wie ein CRM aktuell: Consento sendet Änderungen von Einwilligungen, Löschungen, Einschränkungen und Anfragen an die folgenden URLs, signiert (Standard Webhooks, HMAC-SHA256) und etwa 28 Stunden lang wiederholt. Die Nachrichten enthalten nur Kennungen und Zustände, nie Namen, E-Mail-Adressen oder Notizen.",
			"webhooks.none":                           "Noch keine Webhook-Abonnements.",
			"webhooks.add":                            "Abonnement hinzufügen",
			"webhooks.edit":                           "Abonnement",
			"webhooks.save":                           "Abonnement speichern",
			"webhooks.back":                           "Alle Webhook-Abonnements",
			"webhooks.back.sub":                       "Zurück zum Abonnement",
			"webhooks.url":                            "Empfänger-URL",
			"webhooks.url.hint":                       "https:// an eine öffentliche Adresse; http:// nur an diesen Rechner.",
			"webhooks.description":                    "Beschreibung",
			"webhooks.events":                         "Ereignistypen",
			"webhooks.gone":                           "der Empfänger antwortete 410 Gone",
			"webhooks.gone.long":                      "der Empfänger antwortete 410 Gone, daher wurden die Zustellungen angehalten. Speichern Sie das Abonnement als aktiv, um fortzufahren.",
			"webhooks.secret":                         "Signaturschlüssel",
			"webhooks.secret.once":                    "Kopieren Sie ihn jetzt in den Empfänger: Er wird nicht wieder angezeigt. Der Empfänger prüft damit den Header webhook-signature.",
			"webhooks.rotating":                       "Der bisherige Schlüssel signiert zusätzlich bis %s.",
			"webhooks.test":                           "Testereignis senden",
			"webhooks.rotate":                         "Schlüssel erneuern",
			"webhooks.delete":                         "Abonnement und Zustellprotokoll löschen",
			"webhooks.deliveries":                     "Zustellprotokoll",
			"webhooks.deliveries.none":                "Keine Zustellungen.",
			"webhooks.delivery":                       "Zustellung",
			"webhooks.event":                          "Ereignistyp",
			"webhooks.attempts":                       "Versuche",
			"webhooks.attempts.none":                  "Noch nicht versucht.",
			"webhooks.last":                           "Letzte Antwort",
			"webhooks.created":                        "Erstellt",
			"webhooks.next":                           "nächster Versuch %s",
			"webhooks.filter":                         "Filtern",
			"webhooks.status.all":                     "Alle",
			"webhooks.status.pending":                 "Ausstehend",
			"webhooks.status.delivered":               "Zugestellt",
			"webhooks.status.failed":                  "Fehlgeschlagen",
			"webhooks.replay":                         "Erneut senden",
			"webhooks.payload":                        "Gesendete Nachricht",
			"webhooks.at":                             "Zeit",
			"webhooks.duration":                       "Dauer",
			"webhooks.error":                          "Fehler",
			"webhooks.response":                       "Antwort (erstes KiB)",
			"webhooks.flash.created":                  "Abonnement angelegt.",
			"webhooks.flash.saved":                    "Abonnement gespeichert.",
			"webhooks.flash.deleted":                  "Abonnement gelöscht.",
			"webhooks.flash.rotated":                  "Neuer Schlüssel erstellt.",
			"webhooks.flash.test":                     "Testereignis eingereiht.",
			"webhooks.flash.replayed":                 "Zustellung erneut eingereiht.",
			"webhooks.type.consent.granted":           "Einwilligung erteilt",
			"webhooks.type.consent.withdrawn":         "Einwilligung widerrufen",
			"webhooks.type.consent.refused":           "Einwilligung verweigert",
			"webhooks.type.consent.objected":          "Widerspruch erfasst",
			"webhooks.type.consent.expired":           "Einwilligung abgelaufen",
			"webhooks.type.consent.pending":           "Einwilligung angefragt",
			"webhooks.type.person.erased":             "Person gelöscht (mit Stufe)",
			"webhooks.type.person.deleted":            "Person entfernt (Aufbewahrungsfrist)",
			"webhooks.type.person.restricted":         "Verarbeitung eingeschränkt",
			"webhooks.type.person.restriction_lifted": "Einschränkung aufgehoben",
			"webhooks.type.request.created":           "Anfrage eröffnet",
			"webhooks.type.request.updated":           "Anfrage geändert",
		},
		"da": {
			"webhooks.title":                          "Webhooks",
			"webhooks.intro":                          "Webhooks holder et eksternt system som et CRM opdateret: Consento sender ændringer af samtykker, sletninger, begrænsninger og anmodninger til nedenstående URL'er, signeret (Standard Webhooks, HMAC-SHA256) og gentaget i omkring 28 timer. Beskederne indeholder kun id'er og tilstande, aldrig navne, e-mailadresser eller noter.",
			"webhooks.none":                           "Ingen webhook-abonnementer endnu.",
			"webhooks.add":                            "Tilføj abonnement",
			"webhooks.edit":                           "Abonnement",
			"webhooks.save":                           "Gem abonnement",
			"webhooks.back":                           "Alle webhook-abonnementer",
			"webhooks.back.sub":                       "Tilbage til abonnementet",
			"webhooks.url":                            "Modtager-URL",
			"webhooks.url.hint":                       "https:// til en offentlig adresse; http:// kun til denne maskine.",
			"webhooks.description":                    "Beskrivelse",
			"webhooks.events":                         "Hændelsestyper",
			"webhooks.gone":                           "modtageren svarede 410 Gone",
			"webhooks.gone.long":                      "modtageren svarede 410 Gone, så leveringerne er stoppet. Gem abonnementet som aktivt for at fortsætte.",
			"webhooks.secret":                         "Signeringsnøgle",
			"webhooks.secret.once":                    "Kopiér den nu til modtageren: den vises ikke igen. Modtageren kontrollerer headeren webhook-signature med den.",
			"webhooks.rotating":                       "Den tidligere nøgle signerer også indtil %s.",
			"webhooks.test":                           "Send testhændelse",
			"webhooks.rotate":                         "Forny nøgle",
			"webhooks.delete":                         "Slet abonnement og leveringslog",
			"webhooks.deliveries":                     "Leveringslog",
			"webhooks.deliveries.none":                "Ingen leveringer.",
			"webhooks.delivery":                       "Levering",
			"webhooks.event":                          "Hændelsestype",
			"webhooks.attempts":                       "Forsøg",
			"webhooks.attempts.none":                  "Ikke forsøgt endnu.",
			"webhooks.last":                           "Seneste svar",
			"webhooks.created":                        "Oprettet",
			"webhooks.next":                           "næste forsøg %s",
			"webhooks.filter":                         "Filtrér",
			"webhooks.status.all":                     "Alle",
			"webhooks.status.pending":                 "Afventer",
			"webhooks.status.delivered":               "Leveret",
			"webhooks.status.failed":                  "Mislykket",
			"webhooks.replay":                         "Send igen",
			"webhooks.payload":                        "Sendt besked",
			"webhooks.at":                             "Tid",
			"webhooks.duration":                       "Varighed",
			"webhooks.error":                          "Fejl",
			"webhooks.response":                       "Svar (første KiB)",
			"webhooks.flash.created":                  "Abonnement oprettet.",
			"webhooks.flash.saved":                    "Abonnement gemt.",
			"webhooks.flash.deleted":                  "Abonnement slettet.",
			"webhooks.flash.rotated":                  "Ny nøgle oprettet.",
			"webhooks.flash.test":                     "Testhændelse sat i kø.",
			"webhooks.flash.replayed":                 "Levering sat i kø igen.",
			"webhooks.type.consent.granted":           "samtykke givet",
			"webhooks.type.consent.withdrawn":         "samtykke trukket tilbage",
			"webhooks.type.consent.refused":           "samtykke afvist",
			"webhooks.type.consent.objected":          "indsigelse registreret",
			"webhooks.type.consent.expired":           "samtykke udløbet",
			"webhooks.type.consent.pending":           "samtykke anmodet",
			"webhooks.type.person.erased":             "person slettet (med niveau)",
			"webhooks.type.person.deleted":            "person fjernet (opbevaringsperiode)",
			"webhooks.type.person.restricted":         "behandling begrænset",
			"webhooks.type.person.restriction_lifted": "begrænsning ophævet",
			"webhooks.type.request.created":           "anmodning oprettet",
			"webhooks.type.request.updated":           "anmodning ændret",
		},
	})
}

// indentJSON lays a payload out for reading; what is not JSON stays as it is.
func indentJSON(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}
