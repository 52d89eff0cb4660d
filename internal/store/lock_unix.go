//go:build unix

package store

import (
	"context"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on the file at path (created when
// missing) that other processes respect, waiting until it is free or ctx
// ends. unlock releases it.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		return func() { f.Close() }, nil // closing the file releases the lock
	case <-ctx.Done():
		go func() { <-done; f.Close() }()
		return nil, fmt.Errorf("store: waiting for the migration lock: %w", ctx.Err())
	}
}
