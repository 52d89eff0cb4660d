package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
)

// dispatchBatch is how many audit events one dispatch transaction reads.
const dispatchBatch = 1000

// message is the body of a delivery (Standard Webhooks payload shape).
type message struct {
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

type activeSub struct {
	id       int64
	startSeq int64
}

// Dispatch turns the audit events recorded since the last dispatch into
// deliveries and returns how many it created.
func (s *Service) Dispatch(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		var more bool
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, more, err = s.dispatchTx(tx)
			return err
		})
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			return total, nil
		}
	}
}

// dispatchTx reads up to dispatchBatch events after the cursor, writes
// their deliveries and moves the cursor, in the caller's transaction. The
// cursor row is locked (PostgreSQL: FOR UPDATE; every write also holds the
// audit head's lock), so one instance at a time advances it.
func (s *Service) dispatchTx(tx *store.Tx) (created int, more bool, err error) {
	lock := `SELECT seq FROM webhook_cursor WHERE id = 1`
	if tx.Dialect() == store.Postgres {
		lock += ` FOR UPDATE`
	}
	var cursor int64
	if err := tx.QueryRow(lock).Scan(&cursor); err != nil {
		return 0, false, fmt.Errorf("webhook: lock cursor: %w", err)
	}
	head, _ := tx.Head()
	if cursor >= head {
		return 0, false, nil
	}
	subs, err := activeSubscriptions(tx)
	if err != nil {
		return 0, false, err
	}
	var actions []any
	for _, m := range mappings {
		if len(subs[m.Type]) > 0 {
			actions = append(actions, m.Action)
		}
	}
	next := head
	var events []*sourceEvent
	if len(actions) > 0 {
		if events, err = readEvents(tx, cursor, head, actions); err != nil {
			return 0, false, err
		}
		if len(events) == dispatchBatch {
			next, more = events[len(events)-1].seq, true
		}
	}
	now := store.Micros(s.now())
	ins := newInserter(tx)
	for _, ev := range events {
		m := byAction[ev.action]
		var body []byte
		for _, sub := range subs[m.Type] {
			if sub.startSeq >= ev.seq {
				continue // the event predates the subscription
			}
			if body == nil {
				data, err := m.Data(tx, ev)
				if err != nil {
					return 0, false, err
				}
				if body, err = json.Marshal(message{Type: m.Type, Timestamp: rfc3339(ev.at), Data: data}); err != nil {
					return 0, false, err
				}
			}
			if err := ins.add(newMsgID(), sub.id, ev.seq, m.Type, string(body), now); err != nil {
				return 0, false, err
			}
			created++
		}
	}
	if err := ins.flush(); err != nil {
		return 0, false, err
	}
	if _, err := tx.Exec(`UPDATE webhook_cursor SET seq = ? WHERE id = 1`, next); err != nil {
		return 0, false, fmt.Errorf("webhook: move cursor: %w", err)
	}
	return created, more, nil
}

func activeSubscriptions(tx *store.Tx) (map[string][]activeSub, error) {
	rows, err := tx.Query(`SELECT id, event_types, start_seq FROM webhook_subscriptions WHERE active = 1 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("webhook: active subscriptions: %w", err)
	}
	defer rows.Close()
	out := map[string][]activeSub{}
	for rows.Next() {
		var sub activeSub
		var types string
		if err := rows.Scan(&sub.id, &types, &sub.startSeq); err != nil {
			return nil, err
		}
		for _, t := range strings.Fields(types) {
			out[t] = append(out[t], sub)
		}
	}
	return out, rows.Err()
}

func readEvents(tx *store.Tx, after, head int64, actions []any) ([]*sourceEvent, error) {
	q := `SELECT e.seq, e.at, e.action, e.object_type, e.object_id, e.person_id,
		CASE WHEN e.action = 'person.erase' THEN e.payload END, CASE WHEN e.action = 'person.erase' THEN k.key END
		FROM audit_events e LEFT JOIN person_keys k ON k.person_id = e.person_id
		WHERE e.seq > ? AND e.seq <= ? AND e.action IN (` + store.Placeholders(len(actions)) + `) ORDER BY e.seq LIMIT ` + strconv.Itoa(dispatchBatch)
	rows, err := tx.Query(q, append([]any{after, head}, actions...)...)
	if err != nil {
		return nil, fmt.Errorf("webhook: read audit events: %w", err)
	}
	defer rows.Close()
	var out []*sourceEvent
	for rows.Next() {
		ev := &sourceEvent{}
		if err := rows.Scan(&ev.seq, &ev.at, &ev.action, &ev.objectType, &ev.objectID, &ev.personID, &ev.payload, &ev.key); err != nil {
			return nil, fmt.Errorf("webhook: read audit events: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// newMsgID is a webhook-id: unique per delivery, kept across attempts so
// that receivers can drop duplicates.
func newMsgID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "msg_" + base64.RawURLEncoding.EncodeToString(b)
}

// inserter writes deliveries many rows per statement.
type inserter struct {
	tx   *store.Tx
	args []any
	max  int
}

const deliveryCols = 9

func newInserter(tx *store.Tx) *inserter {
	return &inserter{tx: tx, max: 900 / deliveryCols}
}

func (in *inserter) add(msgID string, subID, seq int64, typ, body string, now int64) error {
	in.args = append(in.args, msgID, subID, seq, typ, body, StatusPending, now, now, now)
	if len(in.args)/deliveryCols >= in.max {
		return in.flush()
	}
	return nil
}

func (in *inserter) flush() error {
	n := len(in.args) / deliveryCols
	if n == 0 {
		return nil
	}
	row := "(" + store.Placeholders(deliveryCols) + ")"
	rows := strings.Repeat(row+",", n-1) + row
	_, err := in.tx.Exec(`INSERT INTO webhook_deliveries (msg_id, subscription_id, event_seq, event_type, payload, status, next_at, created_at, updated_at) VALUES `+rows, in.args...)
	in.args = in.args[:0]
	if err != nil {
		return fmt.Errorf("webhook: write deliveries: %w", err)
	}
	return nil
}

// SendTest queues a webhook.test delivery to a subscription, whatever
// event types it chose, and returns the delivery's id.
func (s *Service) SendTest(ctx context.Context, actor audit.Actor, subID int64) (int64, error) {
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		var active int64
		if err := tx.QueryRow(`SELECT active FROM webhook_subscriptions WHERE id = ?`, subID).Scan(&active); err != nil {
			if isNoRows(err) {
				return notFound("there is no such webhook subscription")
			}
			return err
		}
		if active != 1 {
			return conflict("subscription-inactive", "the subscription is inactive: activate it first")
		}
		body, err := json.Marshal(message{Type: TestType, Timestamp: now.UTC().Format(time.RFC3339Nano), Data: map[string]any{"subscription_id": subID}})
		if err != nil {
			return err
		}
		id, err = tx.InsertID(`INSERT INTO webhook_deliveries (msg_id, subscription_id, event_seq, event_type, payload, status, next_at, created_at, updated_at)
			VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?)`, newMsgID(), subID, TestType, string(body), StatusPending, store.Micros(now), store.Micros(now), store.Micros(now))
		if err != nil {
			return fmt.Errorf("webhook: test delivery: %w", err)
		}
		return s.audit(tx, actor, "webhook.test", subID, nil)
	})
	return id, err
}
