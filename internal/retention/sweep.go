package retention

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
)

// Sweep is the report of one sweep, as kept in retention_sweeps.
type Sweep struct {
	ID         int64      `json:"id"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	DryRun     bool       `json:"dry_run"`
	Action     string     `json:"action"`
	Instance   string     `json:"instance"`
	Actor      string     `json:"actor"`
	// Examined: persons looked at (all but the anonymized ones).
	Examined int `json:"examined"`
	// Expired: persons this sweep found expired and handled or skipped;
	// persons another sweep handled meanwhile are not counted.
	Expired    int `json:"expired"`
	Anonymized int `json:"anonymized"`
	Deleted    int `json:"deleted"`
	Skipped    int `json:"skipped"`
	// Elsewhere: expired when this sweep began, but anonymized or deleted
	// by another sweep meanwhile (or no longer expired).
	Elsewhere int    `json:"elsewhere"`
	Error     string `json:"error,omitempty"`
}

// Report is a sweep with its persons: every expired person with the rule
// that expired them and, after a real sweep, what became of them.
type Report struct {
	Sweep
	Persons []Expired `json:"persons"`
}

// Preview lists who would expire now, without changing or recording
// anything (the "what would expire" view).
func (s *Service) Preview(ctx context.Context) ([]Expired, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return expired(dbQ{ctx, s.db}, s.db.Dialect, s.now(), st.InactiveDays, nil)
}

// Configured reports whether any retention rule is set: an inactivity
// period, a purpose with a period, or a person with a manual date.
func (s *Service) Configured(ctx context.Context) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM retention_settings WHERE inactive_days > 0) +
		(SELECT COUNT(*) FROM purposes WHERE retention_days > 0 AND archived = 0) +
		(SELECT COUNT(*) FROM (SELECT 1 FROM persons WHERE retain_until IS NOT NULL LIMIT 1) m)`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("retention: configured: %w", err)
	}
	return n > 0, nil
}

// Run sweeps once: it lists every expired person with the rule that
// expired them, then (unless dryRun) anonymizes or deletes them as the
// settings say, in batches of one write transaction each. Every batch
// locks its persons (PostgreSQL: FOR UPDATE, after the audit head lock
// every write takes) and evaluates them again inside the transaction, so
// a person that another sweep handled meanwhile, or who is no longer
// expired, is left alone: with several instances each person is handled
// once. Restricted persons (Art. 18) and persons with an open request case
// are skipped. The sweep is recorded in retention_sweeps and in the audit
// log (retention.sweep, counts only), dry runs too.
func (s *Service) Run(ctx context.Context, actor audit.Actor, dryRun bool) (*Report, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Sweep: Sweep{StartedAt: s.now(), DryRun: dryRun, Action: st.Action, Instance: s.instance, Actor: actor.String()}}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		id, err := tx.InsertID(`INSERT INTO retention_sweeps (started_at, dry_run, action, instance, actor) VALUES (?, ?, ?, ?, ?)`,
			store.Micros(rep.StartedAt), b2i(dryRun), rep.Action, rep.Instance, rep.Actor)
		rep.ID = id
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("retention: start sweep: %w", err)
	}
	runErr := s.sweep(ctx, actor, st, rep)
	if runErr != nil {
		rep.Error = "the sweep stopped early: see the server log"
	}
	// The report is written even when the sweep was cancelled.
	fctx := context.WithoutCancel(ctx)
	if err := s.finish(fctx, actor, rep); err != nil && runErr == nil {
		runErr = err
	}
	if !dryRun && rep.Anonymized+rep.Deleted > 0 {
		// No copy of the erased pages stays in SQLite's log.
		if err := s.db.Checkpoint(fctx); err != nil && runErr == nil {
			runErr = err
		}
	}
	return rep, runErr
}

func (s *Service) sweep(ctx context.Context, actor audit.Actor, st Settings, rep *Report) error {
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM persons WHERE status <> 'anonymized'`).Scan(&rep.Examined); err != nil {
		return fmt.Errorf("retention: count persons: %w", err)
	}
	list, err := expired(dbQ{ctx, s.db}, s.db.Dialect, s.now(), st.InactiveDays, nil)
	if err != nil {
		return err
	}
	rep.Persons = list
	if rep.DryRun {
		rep.Expired = len(list)
		for _, e := range list {
			if e.Skip != "" {
				rep.Skipped++
			}
		}
		return nil
	}
	var todo []int64
	at := map[int64]int{}
	for i, e := range list {
		at[e.PersonID] = i
		if e.Skip != "" {
			rep.Persons[i].Outcome = "skipped"
			rep.Expired++
			rep.Skipped++
			continue
		}
		todo = append(todo, e.PersonID)
	}
	for lo := 0; lo < len(todo); lo += s.batch {
		ids := todo[lo:min(lo+s.batch, len(todo))]
		if s.beforeBatch != nil {
			s.beforeBatch()
		}
		outcome, err := s.batchTx(ctx, actor, st, ids)
		if err != nil {
			return err
		}
		for id, o := range outcome {
			i := at[id]
			rep.Persons[i] = o
			rep.Expired++
			switch o.Outcome {
			case "anonymized":
				rep.Anonymized++
			case "deleted":
				rep.Deleted++
			default:
				rep.Skipped++
			}
		}
	}
	// Persons another sweep handled meanwhile, or who are no longer
	// expired, are not part of this sweep's report.
	kept := rep.Persons[:0]
	for _, e := range rep.Persons {
		if e.Outcome != "" {
			kept = append(kept, e)
		} else {
			rep.Elsewhere++
		}
	}
	rep.Persons = kept
	return nil
}

// batchTx handles one batch of expired persons in one transaction,
// re-evaluating each under a lock; it returns what became of those still
// expired.
func (s *Service) batchTx(ctx context.Context, actor audit.Actor, st Settings, ids []int64) (map[int64]Expired, error) {
	var out map[int64]Expired
	err := s.db.WriteAlone(ctx, func(tx *store.Tx) error {
		out = map[int64]Expired{}
		tx.CacheStatements()
		now := s.now()
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		if tx.Dialect() == store.Postgres {
			rows, err := tx.Query(`SELECT id FROM persons WHERE id IN (`+store.Placeholders(len(ids))+`) ORDER BY id FOR UPDATE`, args...)
			if err != nil {
				return fmt.Errorf("retention: lock persons: %w", err)
			}
			rows.Close()
		}
		fresh, err := expired(tx, tx.Dialect(), now, st.InactiveDays, ids)
		if err != nil {
			return err
		}
		var todo []Expired
		for _, e := range fresh {
			if e.Skip != "" {
				e.Outcome = "skipped"
				out[e.PersonID] = e
				continue
			}
			todo = append(todo, e)
		}
		if len(todo) == 0 {
			return nil
		}
		// The whole batch at once; should that fail, person by person.
		seq, hash := tx.Head()
		if _, err := tx.Exec("SAVEPOINT retention_batch"); err != nil {
			return fmt.Errorf("retention: savepoint: %w", err)
		}
		err = s.actBatch(tx, actor, st.Action, todo, out)
		if err != nil {
			slog.Default().Error("retention: erase batch, erasing one by one", "persons", len(todo), "err", err)
			tx.SetHead(seq, hash)
			tx.Forget()
			for _, e := range todo {
				delete(out, e.PersonID)
			}
			if _, err := tx.Exec("ROLLBACK TO SAVEPOINT retention_batch"); err != nil {
				return fmt.Errorf("retention: rollback to savepoint: %w", err)
			}
		}
		if _, err := tx.Exec("RELEASE SAVEPOINT retention_batch"); err != nil {
			return fmt.Errorf("retention: release savepoint: %w", err)
		}
		if err == nil {
			return nil
		}
		for _, e := range todo {
			seq, hash := tx.Head()
			if _, err := tx.Exec("SAVEPOINT retention_person"); err != nil {
				return fmt.Errorf("retention: savepoint: %w", err)
			}
			outcome, err := s.act(tx, actor, st.Action, e)
			if err != nil {
				// One person failing leaves the others of the batch alone.
				slog.Default().Error("retention: erase person", "person", e.PersonID, "err", err)
				tx.SetHead(seq, hash)
				tx.Forget()
				if _, err := tx.Exec("ROLLBACK TO SAVEPOINT retention_person"); err != nil {
					return fmt.Errorf("retention: rollback to savepoint: %w", err)
				}
				outcome, e.Skip = "skipped", "error"
			}
			if _, err := tx.Exec("RELEASE SAVEPOINT retention_person"); err != nil {
				return fmt.Errorf("retention: release savepoint: %w", err)
			}
			e.Outcome = outcome
			out[e.PersonID] = e
		}
		return nil
	})
	return out, err
}

// actBatch anonymizes or deletes the persons of todo in one go
// (rights.AnonymizeBatchTx, DeleteBatchTx), recording each outcome in out.
// A person the erasure refuses is skipped ("error"), as act's error skips
// them.
func (s *Service) actBatch(tx *store.Tx, actor audit.Actor, action string, todo []Expired, out map[int64]Expired) error {
	batch := make([]rights.BatchPerson, len(todo))
	for i, e := range todo {
		batch[i] = rights.BatchPerson{PersonID: e.PersonID, Reason: e.auditWhy()}
	}
	var kept map[int64]bool
	var refused map[int64]error
	var err error
	if action == ActionDelete {
		kept, refused, err = s.rights.DeleteBatchTx(tx, actor, batch)
	} else {
		refused, err = s.rights.AnonymizeBatchTx(tx, actor, batch)
	}
	if err != nil {
		return err
	}
	for _, e := range todo {
		switch {
		case refused[e.PersonID] != nil:
			slog.Default().Error("retention: erase person", "person", e.PersonID, "err", refused[e.PersonID])
			e.Outcome, e.Skip = "skipped", "error"
		case action == ActionDelete && !kept[e.PersonID]:
			e.Outcome = "deleted"
		default:
			e.Outcome = "anonymized"
		}
		out[e.PersonID] = e
	}
	return nil
}

func (s *Service) act(tx *store.Tx, actor audit.Actor, action string, e Expired) (string, error) {
	if action == ActionDelete {
		kept, err := s.rights.DeleteTx(tx, actor, e.PersonID, e.auditWhy())
		if err != nil {
			return "", err
		}
		if kept {
			return "anonymized", nil
		}
		return "deleted", nil
	}
	if _, err := s.rights.AnonymizeTx(tx, actor, e.PersonID, e.auditWhy()); err != nil {
		return "", err
	}
	return "anonymized", nil
}

func (s *Service) finish(ctx context.Context, actor audit.Actor, rep *Report) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		rep.FinishedAt = &now
		if _, err := tx.Exec(`UPDATE retention_sweeps SET finished_at = ?, examined = ?, expired = ?, anonymized = ?, deleted = ?, skipped = ?, elsewhere = ?, error = ? WHERE id = ?`,
			store.Micros(now), rep.Examined, rep.Expired, rep.Anonymized, rep.Deleted, rep.Skipped, rep.Elsewhere, rep.Error, rep.ID); err != nil {
			return fmt.Errorf("retention: finish sweep: %w", err)
		}
		_, err := audit.Append(tx, now, audit.Entry{Actor: actor, Action: "retention.sweep", ObjectType: "retention_sweep",
			ObjectID: strconv.FormatInt(rep.ID, 10), After: map[string]any{
				"dry_run": rep.DryRun, "action": rep.Action, "instance": rep.Instance, "examined": rep.Examined, "expired": rep.Expired,
				"anonymized": rep.Anonymized, "deleted": rep.Deleted, "skipped": rep.Skipped, "elsewhere": rep.Elsewhere, "error": rep.Error}}, nil)
		return err
	})
}

// Sweeps lists the latest sweeps, newest first.
func (s *Service) Sweeps(ctx context.Context, limit int) ([]Sweep, error) {
	rows, err := s.db.Query(ctx, `SELECT id, started_at, finished_at, dry_run, action, instance, actor, examined, expired, anonymized, deleted, skipped, elsewhere, error
		FROM retention_sweeps ORDER BY started_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("retention: sweeps: %w", err)
	}
	defer rows.Close()
	out := []Sweep{}
	for rows.Next() {
		var w Sweep
		var started int64
		var finished sql.NullInt64
		var dry int64
		if err := rows.Scan(&w.ID, &started, &finished, &dry, &w.Action, &w.Instance, &w.Actor, &w.Examined, &w.Expired,
			&w.Anonymized, &w.Deleted, &w.Skipped, &w.Elsewhere, &w.Error); err != nil {
			return nil, fmt.Errorf("retention: sweeps: %w", err)
		}
		w.StartedAt, w.DryRun = store.FromMicros(started), dry != 0
		if finished.Valid {
			t := store.FromMicros(finished.Int64)
			w.FinishedAt = &t
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Schedule sweeps every interval until ctx ends, when the settings switch
// the scheduled sweep on and some rule is configured. With several
// instances, one skips its turn while another's real sweep of the last
// interval is recent; were both to run, each person is still handled once.
func (s *Service) Schedule(ctx context.Context, interval time.Duration, done func(*Report, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := s.scheduled(ctx, interval)
		if (rep != nil || err != nil) && ctx.Err() == nil {
			done(rep, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Service) scheduled(ctx context.Context, interval time.Duration) (*Report, error) {
	st, err := s.Settings(ctx)
	if err != nil || !st.Scheduled {
		return nil, err
	}
	ok, err := s.Configured(ctx)
	if err != nil || !ok {
		return nil, err
	}
	var recent int
	since := store.Micros(s.now().Add(-interval / 2))
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM retention_sweeps WHERE dry_run = 0 AND started_at > ?`, since).Scan(&recent); err != nil {
		return nil, fmt.Errorf("retention: recent sweeps: %w", err)
	}
	if recent > 0 {
		return nil, nil
	}
	return s.Run(ctx, audit.System, false)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
