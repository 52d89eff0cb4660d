package rights

// RightsText is the text of the person's rights (GDPR Art. 15(1)(e)–(h),
// 16–22, 77) in their language.
func RightsText(lang string) []string {
	switch lang {
	case "de":
		return []string{
			"Sie haben das Recht auf Auskunft über Ihre Daten (Art. 15 DSGVO), auf Berichtigung (Art. 16), auf Löschung (Art. 17), auf Einschränkung der Verarbeitung (Art. 18) und auf Datenübertragbarkeit (Art. 20).",
			"Sie können der Verarbeitung aus Gründen, die sich aus Ihrer besonderen Situation ergeben, widersprechen; einer Verarbeitung zur Direktwerbung können Sie jederzeit ohne Begründung widersprechen (Art. 21).",
			"Eine Einwilligung können Sie jederzeit mit Wirkung für die Zukunft widerrufen (Art. 7 Abs. 3).",
			"Sie haben das Recht, sich bei einer Datenschutz-Aufsichtsbehörde zu beschweren (Art. 77).",
		}
	case "da":
		return []string{
			"Du har ret til indsigt i dine oplysninger (databeskyttelsesforordningens art. 15), til berigtigelse (art. 16), til sletning (art. 17), til begrænsning af behandling (art. 18) og til dataportabilitet (art. 20).",
			"Du kan gøre indsigelse mod behandlingen af grunde, der vedrører din særlige situation; mod behandling til direkte markedsføring kan du altid gøre indsigelse uden begrundelse (art. 21).",
			"Du kan til enhver tid trække et samtykke tilbage med virkning for fremtiden (art. 7, stk. 3).",
			"Du har ret til at klage til en tilsynsmyndighed (art. 77).",
		}
	}
	return []string{
		"You have the right of access to your data (GDPR Art. 15), to rectification (Art. 16), to erasure (Art. 17), to restriction of processing (Art. 18) and to data portability (Art. 20).",
		"You may object to processing on grounds relating to your particular situation; you may object to processing for direct marketing at any time, without giving reasons (Art. 21).",
		"You may withdraw a consent at any time, with effect for the future (Art. 7(3)).",
		"You have the right to lodge a complaint with a supervisory authority (Art. 77).",
	}
}

// reportLabels are the headings of rendered reports.
var reportLabels = map[string]map[string]string{
	"en": {"title": "Information about your personal data (GDPR Art. 15)", "generated": "Generated", "person": "Your data", "name": "Name",
		"emails": "E-mail addresses", "phones": "Phone numbers", "address": "Postal address", "language": "Language", "status": "Status", "source": "Source",
		"custom_fields": "Further data", "organisation": "Organisation", "purposes": "Purposes, legal bases and retention", "purpose": "Purpose",
		"state": "State", "basis": "Legal basis", "retention": "Retention (days)", "consents": "Consent history with evidence", "when": "When",
		"event": "Event", "evidence": "Evidence", "sources": "Sources of your data", "recipients": "Recipients", "none": "none",
		"activities": "Activities", "kind": "Kind", "subject": "Subject", "author": "By", "documents": "Documents", "file": "File", "size": "Size (bytes)",
		"relationships": "Relationships to other persons", "business_records": "Orders and invoices", "number": "Number", "date": "Date",
		"amount": "Amount", "rights": "Your rights"},
	"de": {"title": "Auskunft über Ihre personenbezogenen Daten (Art. 15 DSGVO)", "generated": "Erstellt", "person": "Ihre Daten", "name": "Name",
		"emails": "E-Mail-Adressen", "phones": "Telefonnummern", "address": "Postanschrift", "language": "Sprache", "status": "Status", "source": "Herkunft",
		"custom_fields": "Weitere Angaben", "organisation": "Organisation", "purposes": "Zwecke, Rechtsgrundlagen und Speicherdauer", "purpose": "Zweck",
		"state": "Stand", "basis": "Rechtsgrundlage", "retention": "Speicherdauer (Tage)", "consents": "Verlauf der Einwilligungen mit Nachweisen", "when": "Wann",
		"event": "Ereignis", "evidence": "Nachweis", "sources": "Herkunft Ihrer Daten", "recipients": "Empfänger", "none": "keine",
		"activities": "Aktivitäten", "kind": "Art", "subject": "Betreff", "author": "Von", "documents": "Dokumente", "file": "Datei", "size": "Größe (Bytes)",
		"relationships": "Beziehungen zu anderen Personen", "business_records": "Bestellungen und Rechnungen", "number": "Nummer", "date": "Datum",
		"amount": "Betrag", "rights": "Ihre Rechte"},
	"da": {"title": "Indsigt i dine personoplysninger (databeskyttelsesforordningens art. 15)", "generated": "Oprettet", "person": "Dine oplysninger", "name": "Navn",
		"emails": "E-mailadresser", "phones": "Telefonnumre", "address": "Postadresse", "language": "Sprog", "status": "Status", "source": "Kilde",
		"custom_fields": "Yderligere oplysninger", "organisation": "Organisation", "purposes": "Formål, retsgrundlag og opbevaring", "purpose": "Formål",
		"state": "Status", "basis": "Retsgrundlag", "retention": "Opbevaring (dage)", "consents": "Samtykkehistorik med dokumentation", "when": "Hvornår",
		"event": "Hændelse", "evidence": "Dokumentation", "sources": "Kilder til dine oplysninger", "recipients": "Modtagere", "none": "ingen",
		"activities": "Aktiviteter", "kind": "Type", "subject": "Emne", "author": "Af", "documents": "Dokumenter", "file": "Fil", "size": "Størrelse (bytes)",
		"relationships": "Relationer til andre personer", "business_records": "Ordrer og fakturaer", "number": "Nummer", "date": "Dato",
		"amount": "Beløb", "rights": "Dine rettigheder"},
}

// Label is a report heading in lang (English when unknown).
func Label(lang, key string) string {
	if m, ok := reportLabels[lang]; ok {
		if v, ok := m[key]; ok {
			return v
		}
	}
	return reportLabels["en"][key]
}
