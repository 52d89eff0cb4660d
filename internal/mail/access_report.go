package mail

// access_report carries the Art. 15 report of an access request, as a PDF
// attachment, to the verified address of the case. Its data: Name,
// RequestID, ReceivedOn (YYYY-MM-DD, shown with {{date .Lang .ReceivedOn}}) and Filename.
func init() {
	Templates = append(Templates, "access_report")
}
