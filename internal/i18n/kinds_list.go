package i18n

// kinds lists every enum Consento labels and its known values: the label
// tests assert each has label.<kind>.<value> in every language, and each
// domain package's test that its values are listed here.
var kinds = map[string][]string{
	"activity_kind":       {"call", "email", "meeting", "note"},
	"audit_action":        {"activity.create", "breach.add_followup", "breach.add_note", "breach.add_public", "breach.create", "breach.decide_not_to_notify", "breach.link_persons", "breach.notify_authority", "breach.notify_persons", "breach.unlink_person", "breach.update", "business_record.create", "consent.expired", "consent.granted", "consent.objected", "consent.objection_lifted", "consent.pending", "consent.refused", "consent.withdrawn", "consent_request.create", "custom_field.create", "custom_field.mark_sensitive", "document.create", "filter.delete", "filter.save", "holidays.day_remove", "holidays.day_set", "holidays.set", "keys.rotate", "mail.retry", "mail_template.save", "organisation.create", "organisation.update", "person.create", "person.delete", "person.erase", "person.restrict", "person.retain_until", "person.unrestrict", "person.update", "preference_link.revoke", "purpose.create", "purpose.update", "receipt_key.create", "recipient.activate", "recipient.create", "recipient.deactivate", "recipient.update", "relationship.create", "request.assign", "request.calendar", "request.complete", "request.create", "request.extend", "request.link", "request.note", "request.notify_recipients", "request.reject", "request.report_email", "request.start", "request.verify", "retention.settings", "retention.sweep", "selfservice_request.done", "selfservice_request.rejected", "sensitive.disclose_to_subject", "sensitive.unmask", "setting.update", "source.create", "source.update", "token.create", "token.revoke", "user.create", "user.update", "web_form.save", "webhook.create", "webhook.delete", "webhook.replay", "webhook.rotate_secret", "webhook.test", "webhook.update"},
	"breach_entry":        {"authority", "decision", "followup", "note", "persons", "public"},
	"breach_state":        {"not_notified", "notified_in_time", "notified_late", "overdue", "pending"},
	"breach_status":       {"closed", "open"},
	"case_state":          {"completed", "in_progress", "received", "rejected", "verified"},
	"case_type":           {"access", "automated", "erasure", "objection", "portability", "rectification", "restriction"},
	"channel":             {"api", "self_service", "staff"},
	"consent_state":       {"expired", "granted", "none", "objected", "pending", "refused", "withdrawn"},
	"data_category":       {"communication", "contact", "credentials", "criminal", "financial", "health", "identity", "location", "official_id", "special"},
	"legal_basis":         {"consent", "contract", "explicit_consent", "legal_obligation", "legitimate_interests", "public_task", "vital_interests"},
	"legal_basis_article": {"consent", "contract", "explicit_consent", "legal_obligation", "legitimate_interests", "public_task", "vital_interests"},
	"mail_state":          {"captured", "dead", "queued", "sending", "sent"},
	"person_status":       {"active", "anonymized", "restricted"},
	"recipient_kind":      {"controller", "processor", "third_country"},
	"record_kind":         {"invoice", "order"},
	"relationship_kind":   {"assistant", "colleague", "family", "manager", "other", "referral"},
	"retention_action":    {"anonymize", "delete"},
	"scope":               {"audit:read", "breaches:read", "breaches:write", "config:read", "config:write", "consents:read", "consents:write", "persons:read", "persons:write", "retention:read", "retention:write", "rights:read", "rights:write", "sensitive:unmask", "webhooks:admin"},
	"sensitive_field":     {"bank_account", "health_data", "national_id"},
	"source":              {"api", "business_card", "chat", "customer_portal", "email", "erasure", "event", "expiry", "import", "phone", "retention", "self_service", "staff_entry", "web_form"},
	"webhook_state":       {"delivered", "failed", "pending"},
}
