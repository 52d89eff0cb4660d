//go:build !unix

package store

import "context"

// lockFile is a no-op where flock(2) does not exist: Migrate then relies
// on re-reading the schema version inside each migration's immediate
// transaction.
func lockFile(context.Context, string) (func(), error) { return func() {}, nil }
