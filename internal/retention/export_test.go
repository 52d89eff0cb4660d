package retention

// SetBeforeBatch makes the sweep call f before each batch transaction.
func (s *Service) SetBeforeBatch(f func()) { s.beforeBatch = f }
