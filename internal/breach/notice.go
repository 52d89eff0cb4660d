package breach

import (
	"context"
	"fmt"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/store"
)

// NoticeTemplate is the mail template of the Art. 34 notice.
const NoticeTemplate = "breach_notice"

// NoticeReport says who an Art. 34 notice reaches: as a preview before
// sending (Mailed 0), and after sending.
type NoticeReport struct {
	Linked          int `json:"linked"`           // persons linked to the incident
	AlreadyNotified int `json:"already_notified"` // notified before: skipped
	Mailable        int `json:"mailable"`         // would get (preview) or got a mail
	MailBlocked     int `json:"mail_blocked"`
	Restricted      int `json:"restricted"`
	NoAddress       int `json:"no_address"`
	Mailed          int `json:"mailed"`
	// Unreachable are the persons not yet notified that no mail can
	// reach: tell them another way (or publicly, Art. 34(3)(c)).
	Unreachable []AffectedPerson `json:"unreachable"`
}

func noticePlan(as []affected) (*NoticeReport, []affected) {
	r := &NoticeReport{Linked: len(as), Unreachable: []AffectedPerson{}}
	var send []affected
	for _, a := range as {
		if a.NotifiedAt != nil {
			r.AlreadyNotified++
			continue
		}
		switch a.Reach {
		case ReachMailable:
			r.Mailable++
			send = append(send, a)
			continue
		case ReachMailBlocked:
			r.MailBlocked++
		case ReachRestricted:
			r.Restricted++
		default:
			r.NoAddress++
		}
		r.Unreachable = append(r.Unreachable, a.AffectedPerson)
	}
	return r, send
}

// noticeContent checks that the incident holds what Art. 34(2) requires a
// notice to describe.
func noticeContent(b *Breach) error {
	switch {
	case b.Description == "":
		return invalid("description", "a notice must describe the nature of the breach (Art. 34(2))")
	case b.DPOContact == "":
		return invalid("dpo_contact", "a notice must name the data protection officer or another contact point (Art. 34(2), 33(3)(b))")
	case b.Consequences == "":
		return invalid("consequences", "a notice must describe the likely consequences (Art. 34(2), 33(3)(c))")
	case b.Measures == "":
		return invalid("measures", "a notice must describe the measures taken or proposed (Art. 34(2), 33(3)(d))")
	}
	return nil
}

// PreviewNotice says how many linked persons a notice would reach now and
// lists those it cannot.
func (s *Service) PreviewNotice(ctx context.Context, id int64) (*NoticeReport, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, affectedQuery+` ORDER BY bp.person_id`, id)
	if err != nil {
		return nil, fmt.Errorf("breach: preview: %w", err)
	}
	as, err := scanAffected(rows)
	if err != nil {
		return nil, fmt.Errorf("breach: preview: %w", err)
	}
	r, _ := noticePlan(as)
	return r, nil
}

// NotifyPersons tells the linked persons of the breach (GDPR Art. 34): one
// mail each (template breach_notice, in the person's language) with the
// nature of the breach, the contact point, the likely consequences and the
// measures (Art. 34(2)), queued in the outbox in the same transaction as
// each person's notified_at and mail id, the timeline entry and the audit
// event. Persons notified before are skipped; persons whose mail is
// blocked or whose processing is restricted, and those without an
// address, get nothing and are listed.
func (s *Service) NotifyPersons(ctx context.Context, actor audit.Actor, id int64) (*NoticeReport, error) {
	now := s.now()
	var out *NoticeReport
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		b, err := s.getTx(tx, id)
		if err != nil {
			return err
		}
		if err := noticeContent(b); err != nil {
			return err
		}
		rows, err := tx.Query(affectedQuery+` ORDER BY bp.person_id`, id)
		if err != nil {
			return fmt.Errorf("breach: notify: %w", err)
		}
		as, err := scanAffected(rows)
		if err != nil {
			return fmt.Errorf("breach: notify: %w", err)
		}
		r, send := noticePlan(as)
		if len(send) == 0 {
			return conflict("nobody-to-notify", fmt.Sprintf("no linked person is left to notify by e-mail: %d notified before, %d cannot be mailed", r.AlreadyNotified, len(r.Unreachable)))
		}
		for _, a := range send {
			lang := mail.Language(a.lang)
			name := a.first
			if name == "" {
				name = a.Name
			}
			data := map[string]any{"Name": name, "Title": b.Title, "Nature": b.Description, "Consequences": b.Consequences, "Measures": b.Measures,
				"DPOContact": b.DPOContact, "Controller": s.controller, "AwareOn": b.AwareAt.Format("2006-01-02"), "DataCategories": CategoryList(lang, b.DataCategories)}
			mid, err := mail.Enqueue(tx, mail.Message{Template: NoticeTemplate, Language: lang, PersonID: a.PersonID, To: a.Email, Data: data})
			if err != nil {
				return fmt.Errorf("breach: notice mail: %w", err)
			}
			if mid == 0 { // blocked since it was read: not mailed
				r.Mailable--
				r.MailBlocked++
				a.Reach = ReachMailBlocked
				r.Unreachable = append(r.Unreachable, a.AffectedPerson)
				continue
			}
			if _, err := tx.Exec(`UPDATE breach_persons SET notified_at = ?, mail_id = ? WHERE breach_id = ? AND person_id = ?`,
				store.Micros(now), mid, id, a.PersonID); err != nil {
				return fmt.Errorf("breach: record notice: %w", err)
			}
			r.Mailed++
		}
		if _, err := tx.Exec(`UPDATE breaches SET persons_notified = persons_notified + ?, updated_at = ?, updated_by = ? WHERE id = ?`,
			r.Mailed, store.Micros(now), actor.String(), id); err != nil {
			return fmt.Errorf("breach: count notices: %w", err)
		}
		eid, err := addEntryTx(tx, id, EntryPersons, now, now, actor, fmt.Sprintf("Notice mailed to %d persons; %d cannot be mailed (mail blocked %d, restricted %d, no address %d); %d notified before.",
			r.Mailed, len(r.Unreachable), r.MailBlocked, r.Restricted, r.NoAddress, r.AlreadyNotified))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE breach_entries SET mailed = ?, unreachable = ? WHERE id = ?`, r.Mailed, len(r.Unreachable), eid); err != nil {
			return fmt.Errorf("breach: entry: %w", err)
		}
		out = r
		return appendAudit(tx, now, actor, "breach.notify_persons", id, "", nil, map[string]any{"mailed": r.Mailed, "already_notified": r.AlreadyNotified,
			"mail_blocked": r.MailBlocked, "restricted": r.Restricted, "no_address": r.NoAddress, "entry_id": eid})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CategoryLabel names a category of data in lang (label.data_category.<c>);
// free text stays as it is.
func CategoryLabel(lang, c string) string {
	return i18n.Label(lang, "data_category", c)
}

// CategoryList names categories of data in lang, comma-separated.
func CategoryList(lang string, cs []string) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = CategoryLabel(lang, c)
	}
	return strings.Join(out, ", ")
}
