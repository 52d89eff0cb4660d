package outreach

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// Request is an erasure or rectification request from the preference page.
type Request struct {
	ID        int64
	PersonID  int64
	Kind      string
	Contact   *Contact // the correction asked for (rectification)
	Status    string   // open, done, rejected
	CreatedAt time.Time
}

// Requests lists the open self-service requests, oldest first.
func (s *Service) Requests(ctx context.Context) ([]Request, error) {
	rows, err := s.db.Query(ctx, `SELECT id, person_id, kind, payload, status, created_at FROM selfservice_requests WHERE status = 'open' ORDER BY id LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("outreach: requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var r Request
		var payload string
		var at int64
		if err := rows.Scan(&r.ID, &r.PersonID, &r.Kind, &payload, &r.Status, &at); err != nil {
			return nil, err
		}
		if r.Kind == KindRectification {
			r.Contact = &Contact{}
			json.Unmarshal([]byte(payload), r.Contact)
		}
		r.CreatedAt = store.FromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// CloseRequest marks a request done (a rectification is applied then) or
// rejected. Staff action, audited.
func (s *Service) CloseRequest(ctx context.Context, actor audit.Actor, id int64, accept bool) error {
	var r Request
	var payload string
	err := s.db.QueryRow(ctx, `SELECT id, person_id, kind, payload FROM selfservice_requests WHERE id = ? AND status = 'open'`, id).Scan(&r.ID, &r.PersonID, &r.Kind, &payload)
	if isNoRows(err) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if accept && r.Kind == KindRectification {
		var c Contact
		json.Unmarshal([]byte(payload), &c)
		addr := ledger.Address{Street: c.Street, PostalCode: c.PostalCode, City: c.City, Country: c.Country}
		patch := ledger.PersonPatch{FirstName: &c.FirstName, LastName: &c.LastName, Address: &addr, Reason: "rectification request " + strconv.FormatInt(id, 10) + " (GDPR Art. 16)"}
		if c.Language != "" {
			patch.Language = &c.Language
		}
		if c.Email != "" {
			// The new address replaces the primary one; the others stay.
			p, err := s.ledger.Person(ctx, r.PersonID)
			if err != nil {
				return err
			}
			emails := []string{c.Email}
			for i, e := range p.Emails {
				if i > 0 && e != c.Email {
					emails = append(emails, e)
				}
			}
			patch.Emails = emails
		}
		if _, err := s.ledger.UpdatePerson(ctx, actor, r.PersonID, patch); err != nil {
			return err
		}
	}
	status := "done"
	if !accept {
		status = "rejected"
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		res, err := tx.Exec(`UPDATE selfservice_requests SET status = ?, closed_at = ?, closed_by = ? WHERE id = ? AND status = 'open'`, status, store.Micros(now), actor.String(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return recordPerson(tx, now, audit.Entry{Actor: actor, Action: "selfservice_request." + status, ObjectType: "selfservice_request", ObjectID: strconv.FormatInt(id, 10), PersonID: r.PersonID})
	})
}
