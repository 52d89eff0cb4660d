package webhook

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Delivery is one event to one subscription, with its attempts.
type Delivery struct {
	ID             int64           `json:"id"`
	MsgID          string          `json:"webhook_id"`
	SubscriptionID int64           `json:"subscription_id"`
	EventType      string          `json:"event_type"`
	Status         string          `json:"status"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  *time.Time      `json:"next_attempt_at,omitempty"`
	LastStatusCode int             `json:"last_status_code,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	Payload        json.RawMessage `json:"payload,omitempty"`
	AttemptLog     []Attempt       `json:"attempt_log,omitempty"`
}

// Attempt is one try to deliver.
type Attempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	DurationMS float64   `json:"duration_ms"`
	Error      string    `json:"error,omitempty"`
	Response   string    `json:"response,omitempty"` // the first KiB
}

// DeliveryFilter narrows Deliveries; Before is the cursor (ids below it).
type DeliveryFilter struct {
	SubscriptionID int64
	Status         string
	EventType      string
	Before         int64
	Limit          int
}

// Statuses lists the delivery states.
var Statuses = []string{StatusPending, StatusDelivered, StatusFailed}

const deliveryColumns = `id, msg_id, subscription_id, event_type, status, attempts, next_at, last_code, last_error, created_at, updated_at`

func scanDelivery(sc interface{ Scan(...any) error }, extra ...any) (*Delivery, error) {
	var d Delivery
	var next, created, updated int64
	if err := sc.Scan(append([]any{&d.ID, &d.MsgID, &d.SubscriptionID, &d.EventType, &d.Status, &d.Attempts, &next, &d.LastStatusCode, &d.LastError, &created, &updated}, extra...)...); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = store.FromMicros(created), store.FromMicros(updated)
	if d.Status == StatusPending && next != paused {
		t := store.FromMicros(next)
		d.NextAttemptAt = &t
	}
	return &d, nil
}

// Deliveries lists deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, error) {
	var where []string
	var args []any
	if f.SubscriptionID != 0 {
		where, args = append(where, "subscription_id = ?"), append(args, f.SubscriptionID)
	}
	if f.Status != "" {
		if !slices.Contains(Statuses, f.Status) {
			return nil, invalid("status", "status is one of "+strings.Join(Statuses, ", "))
		}
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.EventType != "" {
		if bad := textcheck.Line(f.EventType, textcheck.MaxShort); bad != textcheck.OK {
			return nil, invalid("event_type", bad.Message(textcheck.MaxShort))
		}
		where, args = append(where, "event_type = ?"), append(args, f.EventType)
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY id DESC LIMIT `+strconv.Itoa(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("webhook: deliveries: %w", err)
	}
	defer rows.Close()
	out := []*Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("webhook: deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Delivery returns one delivery with its payload and attempts, oldest
// attempt first.
func (s *Service) Delivery(ctx context.Context, id int64) (*Delivery, error) {
	var payload string
	d, err := scanDelivery(s.db.QueryRow(ctx, `SELECT `+deliveryColumns+`, payload FROM webhook_deliveries WHERE id = ?`, id), &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("there is no such delivery")
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: delivery %d: %w", id, err)
	}
	d.Payload = json.RawMessage(payload)
	rows, err := s.db.Query(ctx, `SELECT at, status_code, duration_us, error, response FROM webhook_attempts WHERE delivery_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("webhook: attempts: %w", err)
	}
	defer rows.Close()
	d.AttemptLog = []Attempt{}
	for rows.Next() {
		var a Attempt
		var at, us int64
		if err := rows.Scan(&at, &a.StatusCode, &us, &a.Error, &a.Response); err != nil {
			return nil, fmt.Errorf("webhook: attempts: %w", err)
		}
		a.At, a.DurationMS = store.FromMicros(at), float64(us)/1000
		d.AttemptLog = append(d.AttemptLog, a)
	}
	return d, rows.Err()
}

// Replay sends a delivery again, now, with the same webhook-id and body,
// and the full retry schedule.
func (s *Service) Replay(ctx context.Context, actor audit.Actor, id int64) (*Delivery, error) {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := store.Micros(s.now())
		var status string
		var locked, active int64
		err := tx.QueryRow(`SELECT d.status, d.locked_until, w.active FROM webhook_deliveries d JOIN webhook_subscriptions w ON w.id = d.subscription_id WHERE d.id = ?`, id).
			Scan(&status, &locked, &active)
		if isNoRows(err) {
			return notFound("there is no such delivery")
		}
		if err != nil {
			return err
		}
		if active != 1 {
			return conflict("subscription-inactive", "the subscription is inactive: activate it first")
		}
		if status == StatusPending && locked > now {
			return conflict("delivery-in-progress", "the delivery is being sent right now")
		}
		if _, err := tx.Exec(`UPDATE webhook_deliveries SET status = ?, retry = 0, next_at = ?, lease = 0, locked_until = 0, updated_at = ? WHERE id = ?`,
			StatusPending, now, now, id); err != nil {
			return fmt.Errorf("webhook: replay: %w", err)
		}
		_, err = audit.Append(tx, s.now(), audit.Entry{Actor: actor, Action: "webhook.replay", ObjectType: "webhook_delivery", ObjectID: strconv.FormatInt(id, 10)}, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Delivery(ctx, id)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
