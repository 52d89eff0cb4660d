package selfservice

import (
	"context"
	"log/slog"
	"time"

	"github.com/consento/consento/internal/ratelimit"
)

// limiter is one of the public pages' rate limits (per IP address, per
// link), kept in the database so that every instance behind a load
// balancer counts against the same budget.
type limiter struct {
	off  bool
	name string
	rate ratelimit.Rate
	db   *ratelimit.Limiter
	log  *slog.Logger
}

// newLimiter is perSecond requests a second with a burst (at least one
// second's worth); zero takes def, negative switches the limit off.
func newLimiter(db *ratelimit.Limiter, log *slog.Logger, name string, perSecond, def float64, burst int) *limiter {
	switch {
	case perSecond < 0:
		return &limiter{off: true}
	case perSecond == 0:
		perSecond = def
	}
	return &limiter{name: name, rate: ratelimit.PerSecond(perSecond, max(burst, int(perSecond))), db: db, log: log}
}

// allow spends one request of key; when refused it says how long to wait.
// A database failure lets the request through (the page itself will
// answer for the failure) rather than refusing everyone.
func (l *limiter) allow(ctx context.Context, key string) (bool, time.Duration) {
	if l.off {
		return true, 0
	}
	ok, wait, err := l.db.Take(ctx, l.name, l.rate, key)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Error("rate limit", "limit", l.name, "err", err)
		}
		return true, 0
	}
	return ok, wait
}
