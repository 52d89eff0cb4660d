// Package webhook keeps external systems (a CRM) in sync with Consento:
// subscriptions per event type, signed deliveries in the Standard Webhooks
// format, retried with backoff, and a delivery log staff can inspect and
// replay.
//
// The source of events is the audit log, written in the same transaction
// as every change (bulk imports included) with a strictly increasing seq.
// The dispatcher reads the events after its cursor, maps their actions to
// event types (events.go), writes one delivery per matching subscription
// and moves the cursor, all in one transaction: no change is missed, none
// is sent twice, and no write path needs to know about webhooks.
package webhook

import (
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// Options configure the service; zero values take the defaults.
type Options struct {
	// AllowHTTP accepts http:// URLs to any host (else only to loopback).
	AllowHTTP bool
	// AllowPrivate accepts receivers on loopback, private and link-local
	// addresses (tests, benchmarks, an internal CRM).
	AllowPrivate bool
	// Workers is how many deliveries are sent at once (default 16).
	Workers int
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// Retention: finished deliveries are deleted after it (default 30
	// days; negative keeps them).
	Retention time.Duration
	// Poll is how often an idle worker looks for work (default 1 s).
	Poll time.Duration
	Log  *slog.Logger
}

// Service manages subscriptions and delivers events.
type Service struct {
	db     *store.DB
	opts   Options
	now    func() time.Time
	jitter func(time.Duration) time.Duration
	client *http.Client
	log    *slog.Logger
}

// New returns the webhook service.
func New(db *store.DB, o Options) *Service {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Retention == 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	s := &Service{db: db, opts: o, now: time.Now, log: o.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// Up to a tenth more, so that receivers that failed together are not
	// retried together.
	s.jitter = func(d time.Duration) time.Duration { return d + rand.N(d/10+1) }
	s.client = s.newClient()
	return s
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SetJitter replaces the random spread of retry delays (tests).
func (s *Service) SetJitter(f func(time.Duration) time.Duration) { s.jitter = f }

// Schedule is the wait before each retry: after the first failed attempt
// 5 s, then 5 min, 30 min, 2 h, 5 h, 10 h and 10 h; after the eighth
// attempt the delivery has failed (about 28 hours in all).
var Schedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Delivery states.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

func invalid(field, msg string) error {
	return &ledger.Error{Kind: ledger.KindInvalid, Code: "validation", Message: msg, Fields: []ledger.FieldError{ledger.Field(field, msg)}}
}

func notFound(msg string) error {
	return &ledger.Error{Kind: ledger.KindNotFound, Code: "not-found", Message: msg}
}

func conflict(code, msg string) error {
	return &ledger.Error{Kind: ledger.KindConflict, Code: code, Message: msg}
}
