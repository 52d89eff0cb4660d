package webhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Subscription is an external receiver of chosen event types. Its secret
// is shown only when created or rotated.
type Subscription struct {
	ID             int64     `json:"id"`
	URL            string    `json:"url"`
	Description    string    `json:"description"`
	EventTypes     []string  `json:"event_types"`
	Active         bool      `json:"active"`
	DisabledReason string    `json:"disabled_reason,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	CreatedBy      string    `json:"created_by"`
	UpdatedAt      time.Time `json:"updated_at"`
	// PreviousSecretUntil: until then deliveries are signed with the
	// previous secret too.
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty"`
}

// SubscriptionInput creates or replaces a subscription.
type SubscriptionInput struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Active      *bool    `json:"active,omitempty"` // default true
}

// RotationGrace is how long the previous secret still signs after a
// rotation, so that a receiver can switch without losing a delivery.
const RotationGrace = 24 * time.Hour

func (s *Service) check(ctx context.Context, in *SubscriptionInput) error {
	in.URL, in.Description = strings.TrimSpace(in.URL), strings.TrimSpace(in.Description)
	if err := ledger.CheckTexts(ledger.OneLine("url", in.URL, textcheck.MaxURL), ledger.OneLine("description", in.Description, 500)); err != nil {
		return err
	}
	if err := s.CheckURL(ctx, in.URL); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.Description) > 500 {
		return invalid("description", "the description is too long (at most 500 characters)")
	}
	if len(in.EventTypes) == 0 {
		return invalid("event_types", "choose at least one event type: "+strings.Join(EventTypes(), ", "))
	}
	known := EventTypes()
	var types []string
	for _, t := range in.EventTypes {
		if !slices.Contains(known, t) {
			return invalid("event_types", fmt.Sprintf("unknown event type %q: use %s", t, strings.Join(known, ", ")))
		}
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	in.EventTypes = types
	return nil
}

func (s *Service) audit(tx *store.Tx, actor audit.Actor, action string, id int64, after any) error {
	_, err := audit.Append(tx, s.now(), audit.Entry{Actor: actor, Action: action, ObjectType: "webhook_subscription", ObjectID: strconv.FormatInt(id, 10), After: after}, nil)
	return err
}

// Create adds a subscription and returns it with its secret, which is
// not shown again. It receives the events recorded after it.
func (s *Service) Create(ctx context.Context, actor audit.Actor, in SubscriptionInput) (*Subscription, string, error) {
	if err := s.check(ctx, &in); err != nil {
		return nil, "", err
	}
	secret, err := NewSecret()
	if err != nil {
		return nil, "", err
	}
	active := in.Active == nil || *in.Active
	var id int64
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		now := store.Micros(s.now())
		var err error
		id, err = tx.InsertID(`INSERT INTO webhook_subscriptions (url, description, event_types, active, secret, start_seq, created_at, created_by, updated_at)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)`, in.URL, in.Description, strings.Join(in.EventTypes, " "), b2i(active), secret, now, actor.String(), now)
		if err != nil {
			return fmt.Errorf("webhook: create subscription: %w", err)
		}
		if err := s.audit(tx, actor, "webhook.create", id, in); err != nil {
			return err
		}
		seq, _ := tx.Head()
		_, err = tx.Exec(`UPDATE webhook_subscriptions SET start_seq = ? WHERE id = ?`, seq, id)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	sub, err := s.Subscription(ctx, id)
	return sub, secret, err
}

// Update replaces a subscription's URL, description, event types and
// active flag. Reactivating clears the reason it was disabled.
func (s *Service) Update(ctx context.Context, actor audit.Actor, id int64, in SubscriptionInput) (*Subscription, error) {
	if err := s.check(ctx, &in); err != nil {
		return nil, err
	}
	active := in.Active == nil || *in.Active
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(`UPDATE webhook_subscriptions SET url = ?, description = ?, event_types = ?, active = ?,
			disabled_reason = CASE WHEN ? = 1 THEN '' ELSE disabled_reason END, updated_at = ? WHERE id = ?`,
			in.URL, in.Description, strings.Join(in.EventTypes, " "), b2i(active), b2i(active), store.Micros(s.now()), id)
		if err != nil {
			return fmt.Errorf("webhook: update subscription: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("there is no such webhook subscription")
		}
		if err := park(tx, id, active, store.Micros(s.now())); err != nil {
			return err
		}
		return s.audit(tx, actor, "webhook.update", id, in)
	})
	if err != nil {
		return nil, err
	}
	return s.Subscription(ctx, id)
}

// Delete removes a subscription with its deliveries and their attempts.
func (s *Service) Delete(ctx context.Context, actor audit.Actor, id int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		for _, q := range []string{
			`DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE subscription_id = ?)`,
			`DELETE FROM webhook_deliveries WHERE subscription_id = ?`,
		} {
			if _, err := tx.Exec(q, id); err != nil {
				return fmt.Errorf("webhook: delete subscription: %w", err)
			}
		}
		res, err := tx.Exec(`DELETE FROM webhook_subscriptions WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("webhook: delete subscription: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("there is no such webhook subscription")
		}
		return s.audit(tx, actor, "webhook.delete", id, nil)
	})
}

// RotateSecret gives a subscription a new secret and returns it; the old
// one keeps signing (a second signature) for RotationGrace.
func (s *Service) RotateSecret(ctx context.Context, actor audit.Actor, id int64) (string, error) {
	secret, err := NewSecret()
	if err != nil {
		return "", err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		res, err := tx.Exec(`UPDATE webhook_subscriptions SET previous_secret = secret, previous_until = ?, secret = ?, updated_at = ? WHERE id = ?`,
			store.Micros(now.Add(RotationGrace)), secret, store.Micros(now), id)
		if err != nil {
			return fmt.Errorf("webhook: rotate secret: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("there is no such webhook subscription")
		}
		return s.audit(tx, actor, "webhook.rotate_secret", id, nil)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

const subscriptionColumns = `id, url, description, event_types, active, disabled_reason, created_at, created_by, updated_at, previous_until`

func scanSubscription(sc interface{ Scan(...any) error }) (*Subscription, error) {
	var sub Subscription
	var types string
	var active int64
	var created, updated int64
	var prevUntil sql.NullInt64
	if err := sc.Scan(&sub.ID, &sub.URL, &sub.Description, &types, &active, &sub.DisabledReason, &created, &sub.CreatedBy, &updated, &prevUntil); err != nil {
		return nil, err
	}
	sub.EventTypes, sub.Active = strings.Fields(types), active == 1
	sub.CreatedAt, sub.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	if prevUntil.Valid {
		t := store.FromMicros(prevUntil.Int64)
		sub.PreviousSecretUntil = &t
	}
	return &sub, nil
}

// Subscription returns one subscription.
func (s *Service) Subscription(ctx context.Context, id int64) (*Subscription, error) {
	sub, err := scanSubscription(s.db.QueryRow(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("there is no such webhook subscription")
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: subscription %d: %w", id, err)
	}
	return sub, nil
}

// Subscriptions lists every subscription, oldest first.
func (s *Service) Subscriptions(ctx context.Context) ([]*Subscription, error) {
	rows, err := s.db.Query(ctx, `SELECT `+subscriptionColumns+` FROM webhook_subscriptions ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("webhook: subscriptions: %w", err)
	}
	defer rows.Close()
	out := []*Subscription{}
	for rows.Next() {
		sub, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("webhook: subscriptions: %w", err)
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
