package mail

// recipient_notice tells a recipient of personal data which erasure,
// rectification or restriction they must carry out (GDPR Art. 19). Data:
// Recipient, PersonName, PersonEmail, RequestID and one of Erasure,
// Rectification or Restriction set to true.
func init() { Templates = append(Templates, "recipient_notice") }
