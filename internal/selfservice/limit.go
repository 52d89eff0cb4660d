package selfservice

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per key (an IP address, a link), forgetting
// keys it has not seen for ten minutes.
type limiter struct {
	off   bool
	r     rate.Limit
	burst int

	mu    sync.Mutex
	keys  map[string]*bucket
	swept time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perSecond, def float64, burst int) *limiter {
	switch {
	case perSecond < 0:
		return &limiter{off: true}
	case perSecond == 0:
		perSecond = def
	}
	return &limiter{r: rate.Limit(perSecond), burst: max(burst, int(perSecond)), keys: map[string]*bucket{}, swept: time.Now()}
}

func (l *limiter) allow(key string) bool {
	if l.off {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.keys {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.keys, k)
			}
		}
		l.swept = now
	}
	b := l.keys[key]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(l.r, l.burst)}
		l.keys[key] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}
