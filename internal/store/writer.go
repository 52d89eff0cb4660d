package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Tx is the transaction a write function runs in. Besides SQL it carries
// the head of the audit hash chain, which the writer locks once per batch.
type Tx struct {
	db  *DB
	tx  *sql.Tx
	ctx context.Context

	headSeq  int64
	headHash []byte

	result any
	memo   map[string]any
	stmts  map[string]*sql.Stmt // see CacheStatements
}

// CacheStatements makes the transaction keep every statement it runs
// prepared until it ends, on SQLite, where parsing SQL costs more than
// running a small statement (pgx caches prepared statements itself). For
// long transactions that repeat the same statements many times, such as a
// batch of erasures.
func (tx *Tx) CacheStatements() {
	if tx.db.Dialect == SQLite && tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
}

// cached is the prepared statement for query when CacheStatements is on.
func (tx *Tx) cached(query string) *sql.Stmt {
	if tx.stmts == nil {
		return nil
	}
	if st, ok := tx.stmts[query]; ok {
		return st
	}
	st, err := tx.tx.PrepareContext(tx.ctx, query)
	if err != nil {
		return nil // the unprepared call reports the error
	}
	tx.stmts[query] = st
	return st
}

// Memo returns the value cached under key for the rest of this batch,
// loading it on first use. Use it for rows many writes read and few
// change (purposes, sources); whoever changes them calls Forget.
func (tx *Tx) Memo(key string, load func() (any, error)) (any, error) {
	if v, ok := tx.memo[key]; ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	tx.memo[key] = v
	return v, nil
}

// Forget drops everything Memo cached in this batch.
func (tx *Tx) Forget() { clear(tx.memo) }

// Ctx is the context of the write request running in this transaction.
func (tx *Tx) Ctx() context.Context { return tx.ctx }

// Dialect of the database.
func (tx *Tx) Dialect() Dialect { return tx.db.Dialect }

// Exec runs a statement written with ? placeholders.
func (tx *Tx) Exec(query string, args ...any) (sql.Result, error) {
	if err := checkText(args); err != nil {
		return nil, err
	}
	if st := tx.cached(query); st != nil {
		return st.ExecContext(tx.ctx, args...)
	}
	return tx.tx.ExecContext(tx.ctx, tx.db.Q(query), args...)
}

// Query runs a query in the transaction.
func (tx *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	if st := tx.cached(query); st != nil {
		return st.QueryContext(tx.ctx, args...)
	}
	return tx.tx.QueryContext(tx.ctx, tx.db.Q(query), args...)
}

// QueryRow runs a single-row query in the transaction.
func (tx *Tx) QueryRow(query string, args ...any) *sql.Row {
	if st := tx.cached(query); st != nil {
		return st.QueryRowContext(tx.ctx, args...)
	}
	return tx.tx.QueryRowContext(tx.ctx, tx.db.Q(query), args...)
}

// Prepare prepares a statement for repeated use in the transaction.
func (tx *Tx) Prepare(query string) (*sql.Stmt, error) {
	return tx.tx.PrepareContext(tx.ctx, tx.db.Q(query))
}

// InsertID runs an INSERT … RETURNING id and returns the id.
func (tx *Tx) InsertID(query string, args ...any) (int64, error) {
	if err := checkText(args); err != nil {
		return 0, err
	}
	var id int64
	err := tx.tx.QueryRowContext(tx.ctx, tx.db.Q(query+" RETURNING id"), args...).Scan(&id)
	return id, err
}

// Head is the sequence number and hash of the newest audit event.
func (tx *Tx) Head() (int64, []byte) { return tx.headSeq, tx.headHash }

// SetHead moves the audit chain head; the writer stores it before commit.
func (tx *Tx) SetHead(seq int64, hash []byte) { tx.headSeq, tx.headHash = seq, hash }

// SetResult records what the write produced (used for idempotent replays).
func (tx *Tx) SetResult(v any) { tx.result = v }

// Idempotency ties a write to a client-chosen key: a retried request with
// the same key and body replays the first result instead of writing again.
type Idempotency struct {
	Scope       string // who owns the key, e.g. the API token
	Key         string
	RequestHash []byte
}

type idemKey struct{}

// WithIdempotency makes the writes under ctx idempotent under i.
func WithIdempotency(ctx context.Context, i Idempotency) context.Context {
	return context.WithValue(ctx, idemKey{}, i)
}

// Replayed is returned by Write when an idempotency key was used before
// with the same request: nothing was written, Result is the first result.
type Replayed struct{ Result string }

func (r *Replayed) Error() string { return "store: request already processed" }

// ErrIdempotencyMismatch means the key was used before for another request.
var ErrIdempotencyMismatch = errors.New("store: the idempotency key was used for a different request")

type job struct {
	ctx    context.Context
	fn     func(*Tx) error
	alone  bool // runs in a transaction of its own, exactly once
	done   chan error
	result any
}

// writer runs write functions one batch at a time: each batch is one
// database transaction, each function in it has its own savepoint, so a
// failing function rolls back alone while the others commit together.
// Grouping concurrent writes amortises the durable commit (fsync).
type writer struct {
	db      *DB
	jobs    chan *job
	quit    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

const maxBatch = 256

func newWriter(db *DB) *writer {
	w := &writer{db: db, jobs: make(chan *job, 4*maxBatch), quit: make(chan struct{})}
	w.stopped.Add(1)
	go w.loop()
	return w
}

func (w *writer) stop() {
	w.once.Do(func() { close(w.quit) })
	w.stopped.Wait()
}

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store: database is closed")

// Write runs fn in a write transaction, batched with concurrent writes.
// Its effects commit only if it returns nil. fn must act only through tx
// (never the read pool, never outside the database): when another write
// of its batch fails, fn may run a second time after a rollback.
func (db *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	_, err := db.WriteResult(ctx, fn)
	return err
}

// WriteResult is Write returning the value fn passed to tx.SetResult.
func (db *DB) WriteResult(ctx context.Context, fn func(*Tx) error) (any, error) {
	return db.submit(&job{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// WriteAlone runs fn in a transaction of its own, never batched with other
// writes and so never run twice: for long writes that consume a stream,
// such as an import.
func (db *DB) WriteAlone(ctx context.Context, fn func(*Tx) error) error {
	_, err := db.submit(&job{ctx: ctx, fn: fn, alone: true, done: make(chan error, 1)})
	return err
}

func (db *DB) submit(j *job) (any, error) {
	ctx := j.ctx
	select {
	case db.w.jobs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-db.w.quit:
		return nil, ErrClosed
	}
	// Once queued the job runs to completion; wait for its verdict so a
	// caller never mistakes a committed write for a failed one.
	err := <-j.done
	return j.result, err
}

func (w *writer) loop() {
	defer w.stopped.Done()
	batch := make([]*job, 0, maxBatch)
	for {
		select {
		case <-w.quit:
			// Finish what is queued, then stop.
			for {
				select {
				case j := <-w.jobs:
					w.run([]*job{j})
				default:
					return
				}
			}
		case j := <-w.jobs:
			var next *job // a write that must run alone, after this batch
			batch = append(batch[:0], j)
		fill:
			for len(batch) < maxBatch && !j.alone {
				select {
				case j := <-w.jobs:
					if j.alone {
						next = j
						break fill
					}
					batch = append(batch, j)
				default:
					break fill
				}
			}
			w.run(batch)
			if next != nil {
				w.run([]*job{next})
			}
		}
	}
}

func (w *writer) run(batch []*job) {
	errs := make([]error, len(batch))
	// First pass without savepoints: they cost two statements per job, a
	// round trip each on PostgreSQL. If a job fails, its error is final;
	// the transaction is rolled back and the other jobs run again, each in
	// a savepoint so that no further failure can undo the rest.
	commitErr, failed := w.runBatch(batch, errs, false)
	if failed && len(batch) > 1 {
		commitErr, _ = w.runBatch(batch, errs, true)
	}
	for i, j := range batch {
		if errs[i] == nil && commitErr != nil {
			errs[i] = commitErr
		}
		j.done <- errs[i]
	}
}

// runBatch runs the jobs whose errs entry is still nil in one transaction.
// Without savepoints it stops at the first failing job and reports
// failed=true, having rolled everything back.
func (w *writer) runBatch(batch []*job, errs []error, savepoints bool) (err error, failed bool) {
	db := w.db
	var tx *sql.Tx
	for attempt := 0; ; attempt++ {
		tx, err = db.write.BeginTx(context.Background(), nil)
		if err == nil || !isBusy(err) || attempt >= 50 {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("store: begin: %w", err), false
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback()
		}
	}()
	t := &Tx{db: db, tx: tx, ctx: context.Background(), memo: map[string]any{}}
	lock := "SELECT seq, hash FROM audit_head WHERE id = 1"
	if db.Dialect == Postgres {
		lock += " FOR UPDATE"
	}
	if err = tx.QueryRow(lock).Scan(&t.headSeq, &t.headHash); err != nil {
		return fmt.Errorf("store: lock audit head: %w", err), false
	}
	startSeq := t.headSeq
	results := make([]any, len(batch))
	anyOK := false
	for i, j := range batch {
		if errs[i] != nil {
			continue
		}
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		t.ctx, t.result = j.ctx, nil
		seq, hash := t.headSeq, t.headHash
		if savepoints {
			if _, err = tx.Exec("SAVEPOINT job"); err != nil {
				return fmt.Errorf("store: savepoint: %w", err), false
			}
		}
		if ferr := runJob(j, t); ferr != nil {
			errs[i] = ferr
			if !savepoints {
				return nil, true
			}
			t.headSeq, t.headHash = seq, hash
			t.Forget() // it may hold what the failed write saw
			if _, err = tx.Exec("ROLLBACK TO SAVEPOINT job"); err != nil {
				return fmt.Errorf("store: rollback to savepoint: %w", err), false
			}
		} else {
			results[i] = t.result
			anyOK = true
		}
		if savepoints {
			if _, err = tx.Exec("RELEASE SAVEPOINT job"); err != nil {
				return fmt.Errorf("store: release savepoint: %w", err), false
			}
		}
	}
	if !anyOK {
		return nil, false
	}
	if t.headSeq != startSeq {
		if _, err = tx.Exec(db.Q("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"), t.headSeq, t.headHash); err != nil {
			return fmt.Errorf("store: move audit head: %w", err), false
		}
	}
	if err = tx.Commit(); err != nil {
		committed = true // nothing left to roll back
		return fmt.Errorf("store: commit: %w", err), false
	}
	committed = true
	for i, j := range batch {
		if errs[i] == nil {
			j.result = results[i]
		}
	}
	return nil, false
}

// IdempotencyKeyHash is how an idempotency key is stored: its SHA-256,
// never the key itself. Keys are chosen by the client and may hold personal
// data ("signup-anna.berg@example.com"), which would otherwise outlive
// the person's erasure.
func IdempotencyKeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// runJob runs a job's function, first consulting and then recording its
// idempotency key in the same transaction.
func runJob(j *job, t *Tx) error {
	idem, ok := j.ctx.Value(idemKey{}).(Idempotency)
	if !ok {
		return callSafely(j.fn, t)
	}
	var hash []byte
	var result string
	key := IdempotencyKeyHash(idem.Key)
	err := t.QueryRow(`SELECT request_hash, result FROM idempotency_keys WHERE scope = ? AND key = ?`, idem.Scope, key).Scan(&hash, &result)
	switch {
	case err == nil:
		if !bytes.Equal(hash, idem.RequestHash) {
			return ErrIdempotencyMismatch
		}
		return &Replayed{Result: result}
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: idempotency lookup: %w", err)
	}
	if err := callSafely(j.fn, t); err != nil {
		return err
	}
	result = ""
	if t.result != nil {
		result = fmt.Sprint(t.result)
	}
	if _, err := t.Exec(`INSERT INTO idempotency_keys (scope, key, request_hash, result, created_at) VALUES (?, ?, ?, ?, ?)`,
		idem.Scope, key, idem.RequestHash, result, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("store: record idempotency key: %w", err)
	}
	return nil
}

func callSafely(fn func(*Tx) error, t *Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: write panicked: %v", r)
		}
	}()
	return fn(t)
}

func isBusy(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked")
}
