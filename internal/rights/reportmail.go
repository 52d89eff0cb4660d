package rights

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/store"
)

// ReportEmail is what EmailReport queued.
type ReportEmail struct {
	RequestID int64  `json:"request_id"`
	MailID    int64  `json:"mail_id"`
	To        string `json:"to"` // masked, e.g. "g***@example.dk"
	Filename  string `json:"filename"`
	Size      int    `json:"size"`
}

// ReportAddress is where the report of an access request is e-mailed: the
// requester's address recorded on the case (it is the one whose identity
// was verified), else the person's primary address.
func ReportAddress(r *Request, p *ledger.Person) string {
	if r.RequesterEmail != "" {
		return r.RequesterEmail
	}
	if p != nil && len(p.Emails) > 0 {
		return p.Emails[0]
	}
	return ""
}

// MaskEmail hides an address but for its first character and its domain,
// for audit entries and notes: "grete@example.dk" → "g***@example.dk".
func MaskEmail(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 1 {
		return "***"
	}
	return addr[:1] + "***" + addr[at:]
}

// EmailReport renders the Art. 15 report of a verified access request as
// PDF, in the person's language and with the configured sections, and
// queues one mail with it attached to the verified address (see
// ReportAddress). The mail, an audit entry and a note on the case ("report
// e-mailed to g***@example.dk") are written in one transaction. A person
// whose processing is restricted, or whose mail is blocked, gets nothing:
// the call fails with a clear error instead.
func (s *Service) EmailReport(ctx context.Context, actor audit.Actor, requestID int64) (*ReportEmail, error) {
	r, err := s.Request(ctx, requestID)
	if err != nil {
		return nil, err
	}
	pid, err := caseFor(r, TypeAccess)
	if err != nil {
		return nil, err
	}
	p, err := s.ledger.Person(ctx, pid)
	if err != nil {
		return nil, err
	}
	if p.Status == ledger.StatusRestricted {
		return nil, restrictedErr()
	}
	to := ReportAddress(r, p)
	if to == "" {
		return nil, conflict("no-address", "neither the request nor the person has an e-mail address to send the report to")
	}
	rep, revealed, err := s.subjectReport(ctx, pid)
	if err != nil {
		return nil, err
	}
	rep.RequestID = requestID
	pdf, _, err := rep.Render("pdf")
	if err != nil {
		return nil, err
	}
	out := &ReportEmail{RequestID: requestID, To: MaskEmail(to), Filename: "access-report-" + strconv.FormatInt(requestID, 10) + ".pdf", Size: len(pdf)}
	name := p.FirstName
	if name == "" {
		name = p.LastName
	}
	reason := "report e-mailed to " + out.To
	_, err = s.step(ctx, actor, requestID, "report_email", reason, func(tx *store.Tx, cur *Request, now time.Time) (map[string]any, error) {
		// The case may have changed since it was read.
		if _, err := caseFor(cur, TypeAccess); err != nil {
			return nil, err
		}
		if deref(cur.PersonID) != pid || cur.RequesterEmail != r.RequesterEmail {
			return nil, conflict("request-changed", "the request changed while the report was made; try again")
		}
		var status string
		if err := tx.QueryRow(`SELECT status FROM persons WHERE id = ?`, pid).Scan(&status); err != nil {
			return nil, fmt.Errorf("rights: report mail: %w", err)
		}
		if status == ledger.StatusRestricted {
			return nil, restrictedErr()
		}
		id, err := mail.Enqueue(tx, mail.Message{Template: "access_report", Language: p.Language, PersonID: pid, To: to,
			Data:        map[string]any{"Name": name, "RequestID": requestID, "ReceivedOn": cur.ReceivedOn, "Filename": out.Filename},
			Attachments: []mail.Attachment{{Name: out.Filename, MediaType: "application/pdf", Content: pdf}}})
		switch {
		case errors.Is(err, mail.ErrAttachmentTooLarge):
			return nil, conflict("report-too-large", "the report PDF is larger than 10 MB, too large to e-mail: download it and hand it over another way")
		case errors.Is(err, mail.ErrRecipient):
			return nil, conflict("no-address", "the address on the request is not a usable e-mail address")
		case err != nil:
			return nil, err
		case id == 0:
			return nil, conflict("mail-blocked", "mail to this person is blocked (erasure): the report cannot be e-mailed")
		}
		out.MailID = id
		if err := ledger.RecordSubjectDisclosureTx(tx, now, actor, pid, revealed, fmt.Sprintf("Art. 15 copy for access request %d, e-mailed to the person", requestID)); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(`INSERT INTO rights_request_notes (request_id, at, author, body) VALUES (?, ?, ?, ?)`,
			requestID, store.Micros(now), actor.String(), "Report e-mailed to "+out.To+" as "+out.Filename+" (outbox mail "+strconv.FormatInt(id, 10)+")."); err != nil {
			return nil, fmt.Errorf("rights: report mail note: %w", err)
		}
		return map[string]any{}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func restrictedErr() error {
	return &ledger.Error{Kind: ledger.KindLocked, Code: "person-restricted", Message: "processing of this person's data is restricted (GDPR Art. 18): no mail of any kind may reach them, so the report cannot be e-mailed; download it and hand it over another way, or lift the restriction first"}
}
