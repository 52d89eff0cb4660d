package outreach

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/store"
)

// ConsentRequest is a mailing that asks persons for a missing consent.
type ConsentRequest struct {
	ID         int64
	Purpose    string
	Recipients int
	// Answered: recipients who decided on the purpose since (granted,
	// refused, withdrew or objected); the rest are pending.
	Answered  int
	CreatedAt time.Time
	CreatedBy string
}

// Pending is how many recipients have not answered.
func (r ConsentRequest) Pending() int { return r.Recipients - r.Answered }

type recipient struct {
	id          int64
	email, name string
	lang        string
}

// RequestConsent mails every active person who has not consented to the
// purpose (no decision yet, pending or expired) a personalised request
// with their preference link and a one-click unsubscribe. emails, when
// given (from a CSV), narrows the mailing to those addresses. Persons who
// withdrew, refused or objected are never asked again by a mailing.
func (s *Service) RequestConsent(ctx context.Context, actor audit.Actor, purposeKey string, emails []string) (*ConsentRequest, error) {
	return s.RequestConsentFrom(ctx, actor, purposeKey, "", emails)
}

// RequestConsentFrom is RequestConsent for the persons who came from one
// source (a source key; "" for any).
func (s *Service) RequestConsentFrom(ctx context.Context, actor audit.Actor, purposeKey, source string, emails []string) (*ConsentRequest, error) {
	if source != "" {
		known := false
		srcs, err := s.ledger.Sources(ctx)
		if err != nil {
			return nil, err
		}
		for _, src := range srcs {
			known = known || src.Key == source
		}
		if !known {
			return nil, &InputError{Fields: map[string]string{"source": "unknown source"}}
		}
	}
	p, err := s.ledger.Purpose(ctx, purposeKey)
	if err != nil {
		return nil, err
	}
	if p.Archived || !p.Allows(ledger.Consent) {
		return nil, &InputError{Fields: map[string]string{"purpose": "consent can be asked only for an active purpose that allows consent"}}
	}
	var only map[string]bool
	if emails != nil {
		only = make(map[string]bool, len(emails))
		for _, e := range emails {
			if n, ok := ledger.NormalizeEmail(e); ok {
				only[ledger.MailboxKey(n)] = true // any spelling of the mailbox
			}
		}
	}
	texts := map[string]ledger.Text{}
	for _, l := range mail.Languages {
		texts[l] = text(p, l)
	}
	out := &ConsentRequest{Purpose: p.Key, CreatedBy: actor.String()}
	err = s.db.WriteAlone(ctx, func(tx *store.Tx) error {
		now := s.now()
		out.CreatedAt = now
		rows, err := tx.Query(`SELECT p.id, e.email, e.mailbox, p.first_name, p.language FROM persons p
			JOIN person_emails e ON e.person_id = p.id AND e.is_primary = 1
			LEFT JOIN consents c ON c.person_id = p.id AND c.purpose_id = ?
			WHERE p.status = 'active' AND (c.kind IS NULL OR c.kind IN ('pending', 'expired') OR (c.kind = 'granted' AND c.valid_until <= ?))
			AND (? = '' OR p.source_id = (SELECT id FROM sources WHERE key = ?))
			ORDER BY p.id`, p.ID, store.Micros(now), source, source)
		if err != nil {
			return fmt.Errorf("outreach: select recipients: %w", err)
		}
		var rs []recipient
		for rows.Next() {
			var r recipient
			var mailbox string
			if err := rows.Scan(&r.id, &r.email, &mailbox, &r.name, &r.lang); err != nil {
				rows.Close()
				return err
			}
			if only == nil || only[mailbox] {
				rs = append(rs, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		id, err := tx.InsertID(`INSERT INTO consent_requests (purpose_id, recipients, created_at, created_by) VALUES (?, ?, ?, ?)`, p.ID, len(rs), store.Micros(now), out.CreatedBy)
		if err != nil {
			return fmt.Errorf("outreach: create consent request: %w", err)
		}
		out.ID, out.Recipients = id, len(rs)
		const chunk = 500
		mailing := make([]mail.Recipient, 0, chunk)
		hashes, pids := make([][]byte, 0, chunk), make([]int64, 0, chunk)
		expires := store.Micros(now.Add(PreferenceTTL))
		shared := map[string]mail.Message{}
		for _, l := range mail.Languages {
			t := texts[l]
			shared[l] = mail.Message{Data: map[string]any{"Controller": s.cfg.Controller, "PrivacyURL": s.cfg.PrivacyURL,
				"Purposes": []map[string]any{{"Name": t.Name, "ConsentText": t.ConsentText}}}}
		}
		for start := 0; start < len(rs); start += chunk {
			part := rs[start:min(start+chunk, len(rs))]
			hashes, pids = hashes[:0], pids[:0]
			byLang := map[string][]mail.Recipient{}
			for _, r := range part {
				raw, h := newToken()
				hashes, pids = append(hashes, h), append(pids, r.id)
				l := mail.Language(r.lang)
				byLang[l] = append(byLang[l], mail.Recipient{PersonID: r.id, To: r.email, Language: l,
					Personal:    map[string]string{"Name": r.name, "PreferenceURL": s.PreferenceURL(raw)},
					Unsubscribe: &mail.Unsubscribe{URL: s.UnsubscribeURL(r.id, p.ID), Mailto: s.cfg.UnsubscribeMailto}})
			}
			if err := insertLinks(tx, id, hashes, pids, store.Micros(now), expires); err != nil {
				return err
			}
			for _, l := range mail.Languages {
				mailing = append(mailing[:0], byLang[l]...)
				if _, err := mail.EnqueueMailing(tx, "consent_request", shared[l].Data, mailing); err != nil {
					return err
				}
			}
		}
		_, err = audit.Append(tx, now, audit.Entry{Actor: actor, Action: "consent_request.create", ObjectType: "consent_request", ObjectID: strconv.FormatInt(id, 10),
			After: map[string]any{"purpose": p.Key, "recipients": len(rs), "from_list": emails != nil, "source": source}}, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertLinks stores a chunk of preference-link hashes and the request's
// recipients: on PostgreSQL as arrays (two parameters a column instead of
// one a row), elsewhere as multi-row VALUES.
func insertLinks(tx *store.Tx, requestID int64, hashes [][]byte, pids []int64, now, expires int64) error {
	var err error
	if tx.Dialect() == store.Postgres {
		_, err = tx.Exec(`INSERT INTO preference_tokens (hash, person_id, created_at, expires_at) SELECT h, p, ?, ? FROM unnest(?::bytea[], ?::bigint[]) AS x(h, p)`, now, expires, hashes, pids)
		if err == nil {
			_, err = tx.Exec(`INSERT INTO consent_request_recipients (request_id, person_id) SELECT ?, p FROM unnest(?::bigint[]) AS x(p)`, requestID, pids)
		}
	} else {
		targs := make([]any, 0, 4*len(pids))
		rargs := make([]any, 0, 2*len(pids))
		for i, pid := range pids {
			targs = append(targs, hashes[i], pid, now, expires)
			rargs = append(rargs, requestID, pid)
		}
		_, err = tx.Exec(`INSERT INTO preference_tokens (hash, person_id, created_at, expires_at) VALUES `+rowsOf(len(pids), 4), targs...)
		if err == nil {
			_, err = tx.Exec(`INSERT INTO consent_request_recipients (request_id, person_id) VALUES `+rowsOf(len(pids), 2), rargs...)
		}
	}
	if err != nil {
		return fmt.Errorf("outreach: store links and recipients: %w", err)
	}
	return nil
}

func rowsOf(n, cols int) string {
	row := "(" + store.Placeholders(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}

// ConsentRequests lists the mailings, newest first, with how many
// recipients answered.
func (s *Service) ConsentRequests(ctx context.Context) ([]ConsentRequest, error) {
	rows, err := s.db.Query(ctx, `SELECT r.id, pu.key, r.recipients, r.created_at, r.created_by,
		(SELECT COUNT(*) FROM consent_request_recipients x JOIN consents c ON c.person_id = x.person_id AND c.purpose_id = r.purpose_id
		 WHERE x.request_id = r.id AND c.occurred_at >= r.created_at AND c.kind IN ('granted', 'refused', 'withdrawn', 'objected'))
		FROM consent_requests r JOIN purposes pu ON pu.id = r.purpose_id ORDER BY r.id DESC LIMIT 100`)
	if err != nil {
		return nil, fmt.Errorf("outreach: consent requests: %w", err)
	}
	defer rows.Close()
	var out []ConsentRequest
	for rows.Next() {
		var r ConsentRequest
		var at int64
		if err := rows.Scan(&r.ID, &r.Purpose, &r.Recipients, &at, &r.CreatedBy, &r.Answered); err != nil {
			return nil, err
		}
		r.CreatedAt = store.FromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
