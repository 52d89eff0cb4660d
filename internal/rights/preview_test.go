package rights_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/consento/consento/internal/mail"
	"github.com/consento/consento/internal/rights"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// tableRows is every table's rows by primary key, as text.
func (e *env) tableRows(t *testing.T) map[string]map[string]string {
	t.Helper()
	ctx := e.ctx
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if e.db.Dialect == store.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	var tables []string
	rows, err := e.db.Query(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]map[string]string{}
	for _, tb := range tables {
		pq := `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`
		if e.db.Dialect == store.Postgres {
			pq = `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
				WHERE i.indrelid = ?::regclass AND i.indisprimary ORDER BY a.attnum`
		}
		pk := map[string]bool{}
		prows, err := e.db.Query(ctx, pq, tb)
		if err != nil {
			t.Fatal(err)
		}
		for prows.Next() {
			var c string
			if err := prows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			pk[c] = true
		}
		prows.Close()
		rows, err := e.db.Query(ctx, `SELECT * FROM `+tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		out[tb] = map[string]string{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var key, all []string
			for i, c := range cols {
				s := fmt.Sprint(vals[i])
				if b, ok := vals[i].([]byte); ok {
					s = fmt.Sprintf("%x", b)
				}
				all = append(all, c+"="+s)
				if pk[c] {
					key = append(key, s)
				}
			}
			if len(pk) == 0 {
				key = all
			}
			out[tb][strings.Join(key, "|")] = strings.Join(all, " ")
		}
		rows.Close()
	}
	return out
}

// effectOf diffs two snapshots per table.
func effectOf(before, after map[string]map[string]string) []rights.TableEffect {
	var out []rights.TableEffect
	for tb, b := range before {
		e := rights.TableEffect{Table: tb}
		for k, row := range b {
			switch a, ok := after[tb][k]; {
			case !ok:
				e.Deleted++
			case a != row:
				e.Updated++
			}
		}
		for k := range after[tb] {
			if _, ok := b[k]; !ok {
				e.Inserted++
			}
		}
		if e.Deleted+e.Updated+e.Inserted > 0 {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}

func effectsText(es []rights.TableEffect) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "  %s: -%d ~%d +%d\n", e.Table, e.Deleted, e.Updated, e.Inserted)
	}
	return b.String()
}

// The preview lists exactly what the erasure does: the changes for staff
// and, per table, the rows deleted, updated and inserted, which must be
// what a diff of the whole database before and after finds.
func TestErasurePreviewIsWhatTheErasureDoes(t *testing.T) {
	for _, level := range []int{rights.LevelBlock, rights.LevelContact, rights.LevelAnonymize} {
		t.Run(fmt.Sprint("level", level), func(t *testing.T) {
			storetest.Engines(t, func(t *testing.T, engine storetest.Engine) {
				e := newEnv(t, engine)
				ctx := e.ctx
				p, _ := e.richPerson(t)
				e.pastLives(t, p.ID)
				// A closed access case with a sent Art. 19 notice, and more:
				// a sensitive value, a breach link, mail with an attachment,
				// a preference link and a double opt-in.
				old := e.verifiedCase(t, p.ID, rights.TypeAccess)
				must[*rights.Request](t)(e.r.AddNote(ctx, officer, old.ID, "Zebulon asked by phone"))
				c := e.verifiedCase(t, p.ID, rights.TypeErasure)
				if err := e.db.Write(ctx, func(tx *store.Tx) error {
					for _, m := range []struct {
						status string
						attach bool
					}{{"sent", true}, {"queued", true}, {"dead", false}, {"captured", false}} {
						id, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", Language: "de", PersonID: p.ID, To: "zebulon.q@example.org",
							Data: map[string]any{"Name": "Zebulon Quixotefield", "Controller": "Example GmbH", "PreferenceURL": "https://example.com/p/x"}})
						if err != nil {
							return err
						}
						if _, err := tx.Exec(`UPDATE mail_outbox SET status = ? WHERE id = ?`, m.status, id); err != nil {
							return err
						}
						if m.attach {
							if _, err := tx.Exec(`INSERT INTO mail_attachments (mail_id, position, filename, media_type, content, size) VALUES (?, 0, 'a.pdf', 'application/pdf', ?, 3)`, id, []byte("pdf")); err != nil {
								return err
							}
						}
					}
					notice, err := mail.Enqueue(tx, mail.Message{Template: "preference_link", Language: "de", To: "p@example.com",
						Data: map[string]any{"Name": "Zebulon Quixotefield", "Controller": "Example GmbH", "PreferenceURL": "https://example.com/p/y"}})
					if err != nil {
						return err
					}
					for _, q := range []struct {
						q    string
						args []any
					}{
						{`UPDATE mail_outbox SET status = 'sent' WHERE id = ?`, []any{notice}},
						{`INSERT INTO recipients (name, kind, email, created_at, created_by, updated_at, updated_by) VALUES ('Processor', 'processor', 'p@example.com', 1, 'x', 1, 'x')`, nil},
						{`INSERT INTO recipient_notices (request_id, recipient_id, action, outbox_id, notified_at, notified_by) VALUES (?, (SELECT MIN(id) FROM recipients), 'access', ?, 1, 'x')`, []any{old.ID, notice}},
						{`INSERT INTO person_secrets (person_id, field_id, key_id, ciphertext, blind_index) VALUES (?, (SELECT id FROM custom_fields WHERE key = 'national_id'), 1, ?, ?)`, []any{p.ID, []byte("ct"), []byte("bi")}},
						{`INSERT INTO breaches (title, description, aware_at, risk, created_at, created_by, updated_at, updated_by) VALUES ('Stolen laptop', 'd', 1, 'high', 1, 'x', 1, 'x')`, nil},
						{`INSERT INTO breach_persons (breach_id, person_id, added_at, added_by) VALUES ((SELECT MIN(id) FROM breaches), ?, 1, 'x')`, []any{p.ID}},
						{`INSERT INTO preference_tokens (hash, person_id, created_at, expires_at) VALUES (?, ?, 1, 2)`, []any{[]byte("tok"), p.ID}},
						{`INSERT INTO web_forms (key, config, created_at, updated_at) VALUES ('f', '{}', 1, 1)`, nil},
						{`INSERT INTO optins (token_hash, person_id, form_id, purposes, snapshot, ip, user_agent, created_at, expires_at) VALUES (?, ?, (SELECT MIN(id) FROM web_forms), '[]', '{}', '203.0.113.9', 'UA', 1, 2)`, []any{[]byte("opt"), p.ID}},
					} {
						if _, err := tx.Exec(q.q, q.args...); err != nil {
							return fmt.Errorf("%s: %w", q.q, err)
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				must[*rights.Request](t)(e.r.Complete(ctx, officer, old.ID, "report sent"))

				plan := must[*rights.ErasurePlan](t)(e.r.PreviewErasure(ctx, c.ID, level))
				before := e.tableRows(t)
				res := must[*rights.ErasureResult](t)(e.r.Erase(ctx, officer, c.ID, level, "request by letter"))
				after := e.tableRows(t)
				// The server's settings (the blocklist key made on the first
				// erasure) are no data of the person.
				delete(before, "settings")
				delete(after, "settings")
				got, want := effectsText(effectOf(before, after)), effectsText(plan.Tables)
				if got != want {
					t.Errorf("the erasure did\n%sthe preview listed\n%s", got, want)
				}
				if fmt.Sprint(res.Plan.Changes) != fmt.Sprint(plan.Changes) {
					t.Errorf("erasure changes %v differ from the preview's %v", res.Plan.Changes, plan.Changes)
				}
				// What staff read: each kind with its count and items.
				listed := map[string]rights.Change{}
				for _, ch := range plan.Changes {
					listed[ch.Key] = ch
				}
				type want1 struct {
					key    string
					count  int
					detail string
				}
				wants := []want1{{"mail_unsent", 2, "preference_link (queued); preference_link (dead)"}}
				if level >= rights.LevelContact {
					wants = append(wants, want1{"phones", 1, "+49 30 98765432"}, want1{"activities", 1, ""})
				}
				if level == rights.LevelAnonymize {
					wants = append(wants, want1{"sensitive", 1, "National ID"}, want1{"outbox", 2, "preference_link (sent); preference_link (captured)"},
						want1{"breaches", 1, "Stolen laptop"}, want1{"preference_links", 1, ""}, want1{"optins", 1, ""}, want1{"selfservice", 1, ""},
						want1{"recipient_notices", 1, ""}, want1{"business_texts", 5, "INV-2026-0042; ORD-A; ORD-B; ORD-C; ORD-D"})
				}
				for _, w := range wants {
					ch, ok := listed[w.key]
					if !ok || ch.Count != w.count || ch.Detail != w.detail {
						t.Errorf("preview %s: %+v, want count %d, detail %q", w.key, ch, w.count, w.detail)
					}
				}
				if level < rights.LevelAnonymize {
					if _, ok := listed["outbox"]; ok {
						t.Errorf("level %d lists level-3 changes: %v", level, plan.Changes)
					}
				}
			})
		})
	}
}
