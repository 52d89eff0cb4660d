package secrets

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/store"
)

// Job kinds.
const (
	JobRotate  = "rotate"  // re-encrypt every value under the primary key
	JobProtect = "protect" // move a newly sensitive field's plaintext into person_secrets
)

// DefaultBatch is how many rows one transaction of a job handles.
const DefaultBatch = 2000

// Job is a background job over the sensitive values.
type Job struct {
	ID           int64      `json:"id"`
	Kind         string     `json:"kind"`
	FieldID      int64      `json:"field_id,omitempty"`
	KeyID        uint32     `json:"key_id,omitempty"`
	CursorPerson int64      `json:"cursor_person"`
	CursorField  int64      `json:"cursor_field"`
	Processed    int64      `json:"processed"`
	StartedAt    time.Time  `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
}

const jobCols = `id, kind, COALESCE(field_id, 0), key_id, cursor_person, cursor_field, processed, started_at, finished_at`

func scanJob(sc interface{ Scan(...any) error }) (*Job, error) {
	var j Job
	var keyID, started int64
	var finished sql.NullInt64
	if err := sc.Scan(&j.ID, &j.Kind, &j.FieldID, &keyID, &j.CursorPerson, &j.CursorField, &j.Processed, &started, &finished); err != nil {
		return nil, err
	}
	j.KeyID = uint32(keyID)
	j.StartedAt = store.FromMicros(started)
	if finished.Valid {
		t := store.FromMicros(finished.Int64)
		j.FinishedAt = &t
	}
	return &j, nil
}

// Rotate adds a new AES-256-GCM key to the keyset, makes it primary and
// schedules the re-encryption of every value under an older key. Old
// keys stay in the keyset: backups need them. Serving instances notice
// the new keyset on their next write or on a ciphertext under the new
// key; nothing restarts.
func (s *Service) Rotate(ctx context.Context, actor audit.Actor) (*Job, error) {
	var job *Job
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var raw []byte
		var version int64
		if err := tx.QueryRow(`SELECT keyset, version FROM secret_keysets WHERE name = ?`, aeadKeyset).Scan(&raw, &version); err != nil {
			return fmt.Errorf("secrets: rotate: %w", err)
		}
		h, err := s.readKeyset(raw, aeadKeyset)
		if err != nil {
			return err
		}
		m := keyset.NewManagerFromHandle(h)
		id, err := m.Add(aead.AES256GCMKeyTemplate())
		if err != nil {
			return fmt.Errorf("secrets: rotate: %w", err)
		}
		if err := m.SetPrimary(id); err != nil {
			return fmt.Errorf("secrets: rotate: %w", err)
		}
		nh, err := m.Handle()
		if err != nil {
			return fmt.Errorf("secrets: rotate: %w", err)
		}
		if err := s.saveKeysetTx(tx, aeadKeyset, nh, version+1, false); err != nil {
			return err
		}
		now := store.Micros(s.now())
		// A rotation still running is superseded: the new one covers all.
		if _, err := tx.Exec(`UPDATE secret_jobs SET finished_at = ? WHERE kind = ? AND finished_at IS NULL`, now, JobRotate); err != nil {
			return err
		}
		jid, err := tx.InsertID(`INSERT INTO secret_jobs (kind, key_id, started_at) VALUES (?, ?, ?)`, JobRotate, int64(id), now)
		if err != nil {
			return err
		}
		job = &Job{ID: jid, Kind: JobRotate, KeyID: id, StartedAt: store.FromMicros(now)}
		_, err = audit.Append(tx, s.now(), audit.Entry{Actor: actor, Action: "keys.rotate", ObjectType: "keyset", ObjectID: aeadKeyset,
			After: map[string]any{"primary_key_id": id, "job": jid}}, nil)
		if err != nil {
			return err
		}
		return s.reloadFrom(tx)
	})
	if err != nil {
		return nil, err
	}
	s.Wake()
	return job, nil
}

// EnqueueProtectTx schedules moving a field's plaintext values out of
// persons.custom (see ledger.MarkSensitive).
func (s *Service) EnqueueProtectTx(tx *store.Tx, fieldID int64) error {
	_, err := tx.Exec(`INSERT INTO secret_jobs (kind, field_id, started_at) VALUES (?, ?, ?)`, JobProtect, fieldID, store.Micros(s.now()))
	if err == nil {
		s.Wake()
	}
	return err
}

// Wake makes the background runner look for jobs now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// OpenJobs lists the unfinished jobs, oldest first.
func (s *Service) OpenJobs(ctx context.Context) ([]*Job, error) {
	rows, err := s.db.Query(ctx, `SELECT `+jobCols+` FROM secret_jobs WHERE finished_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// RunOptions tunes RunJobs.
type RunOptions struct {
	Batch int // rows per transaction (DefaultBatch when 0)
	// Limit stops after about this many rows (0: no limit); the jobs stay
	// open and resume from their cursor.
	Limit int64
	// Progress, when set, is told the rows handled by each batch.
	Progress func(job *Job, rows int)
}

// ErrLimit is returned when RunJobs stopped at RunOptions.Limit.
var ErrLimit = errors.New("secrets: stopped at the row limit")

// RunJobs runs every open job to its end, batch by batch, each batch in
// its own transaction with the job's cursor: stopped (context, limit,
// crash) it resumes where it stopped. Reads and writes of other requests
// go on between the batches.
func (s *Service) RunJobs(ctx context.Context, o RunOptions) error {
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	var total int64
	for {
		jobs, err := s.OpenJobs(ctx)
		if err != nil || len(jobs) == 0 {
			return err
		}
		for _, j := range jobs {
			for {
				if err := ctx.Err(); err != nil {
					return err
				}
				if o.Limit > 0 && total >= o.Limit {
					return ErrLimit
				}
				n, done, err := s.step(ctx, j.ID, o.Batch)
				if err != nil {
					return err
				}
				total += int64(n)
				if o.Progress != nil {
					o.Progress(j, n)
				}
				if done {
					break
				}
			}
		}
	}
}

// step runs one batch of a job; done reports that the job finished.
func (s *Service) step(ctx context.Context, jobID int64, batch int) (n int, done bool, err error) {
	var finishedProtect bool
	err = s.db.WriteAlone(ctx, func(tx *store.Tx) error {
		lock := ""
		if tx.Dialect() == store.Postgres {
			lock = " FOR UPDATE" // instances take turns on a job
		}
		j, err := scanJob(tx.QueryRow(`SELECT `+jobCols+` FROM secret_jobs WHERE id = ?`+lock, jobID))
		if err != nil {
			return err
		}
		if j.FinishedAt != nil {
			done = true
			return nil
		}
		if err := s.freshTx(tx); err != nil {
			return err
		}
		switch j.Kind {
		case JobRotate:
			n, done, err = s.rotateBatch(tx, j, batch)
		case JobProtect:
			n, done, err = s.protectBatch(tx, j, batch)
			finishedProtect = done
		default:
			done = true
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE secret_jobs SET cursor_person = ?, cursor_field = ?, processed = processed + ?, finished_at = ? WHERE id = ?`,
			j.CursorPerson, j.CursorField, n, finishedAt(done, s.now()), jobID); err != nil {
			return err
		}
		if done {
			_, err = audit.Append(tx, s.now(), audit.Entry{Actor: audit.System, Action: "keys." + j.Kind + "_done", ObjectType: "secret_job",
				ObjectID: strconv.FormatInt(jobID, 10), After: map[string]any{"processed": j.Processed + int64(n), "key_id": j.KeyID, "field_id": j.FieldID}}, nil)
		}
		return err
	})
	if err == nil && finishedProtect {
		// The moved plaintext must not linger in old WAL pages.
		if cerr := s.db.Checkpoint(ctx); cerr != nil {
			s.log.Warn("checkpoint after moving sensitive values failed", "err", cerr)
		}
	}
	return n, done, err
}

func finishedAt(done bool, now time.Time) any {
	if !done {
		return nil
	}
	return store.Micros(now)
}

type secretRow struct {
	person, field int64
	key           string
	keyID         uint32
	ct            []byte
	err           error
}

// rotateBatch re-encrypts the next batch of values (in primary key order
// after the job's cursor) that are not under the primary key. At the end
// it checks that none is left (a write of an instance that had not yet
// seen the new keyset) and starts over if one is.
func (s *Service) rotateBatch(tx *store.Tx, j *Job, batch int) (int, bool, error) {
	rows, err := tx.Query(`SELECT ps.person_id, ps.field_id, cf.key, ps.key_id, ps.ciphertext FROM person_secrets ps JOIN custom_fields cf ON cf.id = ps.field_id
		WHERE (ps.person_id, ps.field_id) > (?, ?) ORDER BY ps.person_id, ps.field_id LIMIT ?`, j.CursorPerson, j.CursorField, batch)
	if err != nil {
		return 0, false, fmt.Errorf("secrets: rotate: %w", err)
	}
	var all []secretRow
	for rows.Next() {
		var r secretRow
		var kid int64
		if err := rows.Scan(&r.person, &r.field, &r.key, &kid, &r.ct); err != nil {
			rows.Close()
			return 0, false, err
		}
		r.keyID = uint32(kid)
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	_, primary, _ := s.current()
	var todo []*secretRow
	for i := range all {
		if all[i].keyID != primary {
			todo = append(todo, &all[i])
		}
	}
	s.reencrypt(tx.Ctx(), todo)
	for _, r := range todo {
		if r.err != nil {
			return 0, false, fmt.Errorf("secrets: rotate person %d field %d: %w", r.person, r.field, r.err)
		}
	}
	if len(todo) > 0 && tx.Dialect() == store.Postgres {
		// One statement per batch: a round trip per row is what costs on
		// PostgreSQL.
		ps, fs, ks, cts := make([]int64, len(todo)), make([]int64, len(todo)), make([]int64, len(todo)), make([][]byte, len(todo))
		for i, r := range todo {
			ps[i], fs[i], ks[i], cts[i] = r.person, r.field, int64(r.keyID), r.ct
		}
		if _, err := tx.Exec(`UPDATE person_secrets ps SET key_id = v.k, ciphertext = v.ct
			FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bytea[]) AS v(p, f, k, ct) WHERE ps.person_id = v.p AND ps.field_id = v.f`, ps, fs, ks, cts); err != nil {
			return 0, false, fmt.Errorf("secrets: rotate: %w", err)
		}
	} else if len(todo) > 0 {
		st, err := tx.Prepare(`UPDATE person_secrets SET key_id = ?, ciphertext = ? WHERE person_id = ? AND field_id = ?`)
		if err != nil {
			return 0, false, err
		}
		defer st.Close()
		for _, r := range todo {
			if _, err := st.ExecContext(tx.Ctx(), int64(r.keyID), r.ct, r.person, r.field); err != nil {
				return 0, false, fmt.Errorf("secrets: rotate: %w", err)
			}
		}
	}
	if len(all) > 0 {
		j.CursorPerson, j.CursorField = all[len(all)-1].person, all[len(all)-1].field
	}
	if len(all) < batch {
		var left int64
		if err := tx.QueryRow(`SELECT COUNT(*) FROM person_secrets WHERE key_id <> ?`, int64(primary)).Scan(&left); err != nil {
			return 0, false, err
		}
		if left > 0 {
			j.CursorPerson, j.CursorField = 0, 0
			return len(todo), false, nil
		}
		return len(todo), true, nil
	}
	return len(todo), false, nil
}

// reencrypt decrypts and encrypts the rows under the primary key, in
// parallel.
func (s *Service) reencrypt(ctx context.Context, rs []*secretRow) {
	workers := runtime.GOMAXPROCS(0)
	if len(rs) < 64 {
		workers = 1
	}
	var wg sync.WaitGroup
	per := (len(rs) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*per, min((w+1)*per, len(rs))
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func(part []*secretRow) {
			defer wg.Done()
			for _, r := range part {
				pt, err := s.Decrypt(ctx, r.person, r.key, r.ct)
				if err != nil {
					r.err = err
					continue
				}
				r.ct, r.keyID, r.err = s.Encrypt(r.person, r.key, pt)
			}
		}(rs[lo:hi])
	}
	wg.Wait()
}

// protectBatch moves the field's values of the next persons out of
// persons.custom into person_secrets.
func (s *Service) protectBatch(tx *store.Tx, j *Job, batch int) (int, bool, error) {
	var f ledger.CustomField
	var search int64
	if err := tx.QueryRow(`SELECT id, key, searchable FROM custom_fields WHERE id = ?`, j.FieldID).Scan(&f.ID, &f.Key, &search); err != nil {
		return 0, false, fmt.Errorf("secrets: protect: %w", err)
	}
	f.Sensitive, f.Searchable = true, search != 0
	rows, err := tx.Query(`SELECT id, custom FROM persons WHERE id > ? ORDER BY id LIMIT ?`, j.CursorPerson, batch)
	if err != nil {
		return 0, false, err
	}
	type hit struct {
		id     int64
		custom map[string]any
	}
	var hits []hit
	seen, last := 0, j.CursorPerson
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return 0, false, err
		}
		seen, last = seen+1, id
		var c map[string]any
		if json.Unmarshal([]byte(raw), &c) == nil {
			if _, ok := c[f.Key]; ok {
				hits = append(hits, hit{id, c})
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, false, err
	}
	for _, h := range hits {
		v := ledger.SensitiveText(h.custom[f.Key])
		delete(h.custom, f.Key)
		if v != "" {
			if err := s.StoreTx(tx, h.id, f, v); err != nil {
				return 0, false, err
			}
		}
		b, _ := json.Marshal(h.custom)
		if _, err := tx.Exec(`UPDATE persons SET custom = ? WHERE id = ?`, string(b), h.id); err != nil {
			return 0, false, err
		}
	}
	j.CursorPerson = last
	return len(hits), seen < batch, nil
}

// Run runs open jobs in the background until ctx ends: at start, when
// woken (a rotation, a field marked sensitive) and every interval (jobs
// another instance started). Batches of several instances serialise on
// the job row.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		if err := s.RunJobs(ctx, RunOptions{}); err != nil && ctx.Err() == nil {
			s.log.Error("sensitive value job failed", "err", err)
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(interval)
	}
}
