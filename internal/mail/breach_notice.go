package mail

// breach_notice tells a person of a personal data breach that is likely to
// result in a high risk to them (GDPR Art. 34). Its data: Name, Title,
// Nature, Consequences, Measures, DPOContact, AwareOn (a time or YYYY-MM-DD, shown with {{date .Lang .AwareOn}}) and
// DataCategories (a comma-separated list in the mail's language).
func init() { Templates = append(Templates, "breach_notice") }
