package retention

import (
	"context"
	"time"
)

// SetBeforeBatch makes the sweep call f before each batch transaction.
func (s *Service) SetBeforeBatch(f func()) { s.beforeBatch = f }

// ScheduledOnce is one turn of Schedule.
func (s *Service) ScheduledOnce(ctx context.Context, interval time.Duration) (*Report, error) {
	return s.scheduled(ctx, interval)
}
