package rights

import (
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/consento/consento/internal/store"
)

// readBatchFacts reads for every person of todo (ids, in order) what
// readFacts reads for one, with one statement per table and chunk of
// persons, so that buildChanges gives the batch the changes AnonymizeTx
// in turn would. It returns the new texts of the business records that
// name them, by record id.
func readBatchFacts(tx *store.Tx, ids []int64, todo []*facts) (map[int64]string, error) {
	by := make(map[int64]*facts, len(todo))
	for _, o := range todo {
		by[o.pid] = o
	}
	if err := eachRow(tx, ids, `SELECT c.person_id, pu.key, c.kind, c.legal_basis FROM consents c JOIN purposes pu ON pu.id = c.purpose_id
		WHERE c.person_id IN (%s) AND c.kind IN ('granted', 'pending') ORDER BY c.person_id, pu.key`, func(r *sql.Rows) error {
		var id int64
		var x struct{ key, kind, basis string }
		if err := r.Scan(&id, &x.key, &x.kind, &x.basis); err != nil {
			return err
		}
		by[id].purposes = append(by[id].purposes, x)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(tx, ids, `SELECT person_id FROM mail_blocks WHERE person_id IN (%s)`, func(r *sql.Rows) error {
		var id int64
		if err := r.Scan(&id); err != nil {
			return err
		}
		by[id].blocked = true
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(tx, ids, `SELECT person_id, email, is_primary FROM person_emails WHERE person_id IN (%s) ORDER BY person_id, is_primary DESC, email`, func(r *sql.Rows) error {
		var id int64
		var e string
		var primary int
		if err := r.Scan(&id, &e, &primary); err != nil {
			return err
		}
		by[id].emails = append(by[id].emails, e)
		if primary == 0 {
			by[id].extra = append(by[id].extra, e)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := eachRow(tx, ids, `SELECT person_id, number FROM person_phones WHERE person_id IN (%s) ORDER BY person_id, position`, func(r *sql.Rows) error {
		var id int64
		var n string
		if err := r.Scan(&id, &n); err != nil {
			return err
		}
		by[id].phones = append(by[id].phones, n)
		return nil
	}); err != nil {
		return nil, err
	}
	// The counts, all in one statement.
	var keys, parts []string
	for key, c := range countQueries {
		if c[0] != "" {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	for i, key := range keys {
		c := countQueries[key]
		parts = append(parts, fmt.Sprintf(`SELECT %d, %s, COUNT(*) FROM %s GROUP BY %s`, i, c[0], c[1], c[0]))
	}
	if err := eachRow(tx, ids, strings.Join(parts, " UNION ALL "), func(r *sql.Rows) error {
		var k int
		var id int64
		var n int
		if err := r.Scan(&k, &id, &n); err != nil {
			return err
		}
		by[id].n[keys[k]] = n
		return nil
	}); err != nil {
		return nil, err
	}
	// Relationships: one erased before in the batch took those it shared
	// with a later one along, as AnonymizeTx in turn would.
	order := make(map[int64]int, len(todo))
	for i, o := range todo {
		order[o.pid] = i
	}
	if err := eachRow(tx, ids, `SELECT person_id, other_id FROM relationships WHERE person_id IN (%s) OR other_id IN (%s)`, func(r *sql.Rows) error {
		var a, b int64
		if err := r.Scan(&a, &b); err != nil {
			return err
		}
		ia, okA := order[a]
		ib, okB := order[b]
		switch {
		case okA && (!okB || ia <= ib):
			by[a].n["relationships"]++
		case okB:
			by[b].n["relationships"]++
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// The kept texts (business records) that may name them: only for
	// their persons are earlier values looked for.
	type text struct {
		id, pid int64
		d       string
	}
	var kept []text
	if err := eachRow(tx, ids, `SELECT id, person_id, description FROM business_records WHERE person_id IN (%s) AND description <> '' ORDER BY id`, func(r *sql.Rows) error {
		var t text
		err := r.Scan(&t.id, &t.pid, &t.d)
		kept = append(kept, t)
		return err
	}); err != nil {
		return nil, err
	}
	texts := map[int64]string{}
	if len(kept) == 0 {
		return texts, nil
	}
	named := make([]int64, 0, len(kept))
	for _, t := range kept {
		named = append(named, t.pid)
	}
	slices.Sort(named)
	named = slices.Compact(named)
	// Every value each ever had, while their audit keys still exist.
	for _, id := range named {
		by[id].current()
	}
	if err := eachRow(tx, named, historyQuery, func(r *sql.Rows) error {
		var id, seq int64
		var raw, key []byte
		var typ string
		if err := r.Scan(&id, &seq, &raw, &key, &typ); err != nil {
			return err
		}
		return by[id].history(seq, raw, key, typ)
	}); err != nil {
		return nil, err
	}
	if err := eachRow(tx, named, valuesQuery, func(r *sql.Rows) error {
		var id int64
		var kind, v string
		if err := r.Scan(&id, &kind, &v); err != nil {
			return err
		}
		by[id].other(kind, v)
		return nil
	}); err != nil {
		return nil, err
	}
	scrubbers := map[int64]*scrubber{}
	for _, t := range kept {
		sc := scrubbers[t.pid]
		if sc == nil {
			sc = by[t.pid].vals.scrubber()
			scrubbers[t.pid] = sc
		}
		if nd := sc.scrub(t.d); nd != t.d {
			texts[t.id] = nd
			by[t.pid].n["business_texts"]++
		}
	}
	return texts, nil
}
