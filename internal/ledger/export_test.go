package ledger

// SetDenseRows changes how many matches make the list filters scan instead
// of walking an index, so that tests reach both ways; it returns a func
// that restores it.
func SetDenseRows(n int) (restore func()) {
	old := denseRows
	denseRows = n
	return func() { denseRows = old }
}
