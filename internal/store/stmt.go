package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// stmts caches prepared read statements by query text.
type stmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// Stmt returns the read statement for query (written with ? placeholders),
// prepared once and reused: for hot reads, where parsing the SQL every time
// would cost more than running it. The statements live until Close.
func (db *DB) Stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if st, ok := db.stmts.m[query]; ok {
		return st, nil
	}
	st, err := db.read.PrepareContext(ctx, db.Q(query))
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	if db.stmts.m == nil {
		db.stmts.m = map[string]*sql.Stmt{}
	}
	db.stmts.m[query] = st
	return st, nil
}

func (db *DB) closeStmts() {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	for _, st := range db.stmts.m {
		st.Close()
	}
	db.stmts.m = nil
}
