package ledger

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
)

// Source is where personal data or a consent came from.
type Source struct {
	ID     int64  `json:"id"`
	Key    string `json:"key"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
	// BuiltIn: Consento records this source on its own (see
	// BuiltInSources); it cannot be deactivated.
	BuiltIn bool `json:"built_in"`
	// Manual: staff may pick it when they record a consent event by hand
	// (every source but the ones only Consento itself records).
	Manual bool `json:"manual"`
}

// SourceInput creates or renames a source.
type SourceInput struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Active *bool  `json:"active,omitempty"`
}

// The built-in sources: what Consento records when nobody names a source,
// so that the source of every event says what really happened.
const (
	SourceWebForm     = "web_form"     // a web form and its double opt-in
	SourceSelfService = "self_service" // the person on their preference page or an unsubscribe link
	SourceStaffEntry  = "staff_entry"  // staff, without naming a channel
	SourceAPI         = "api"          // an API client
	SourceImport      = "import"       // a CSV import
	SourceErasure     = "erasure"      // the withdrawals of an erasure (Art. 17)
	SourceRetention   = "retention"    // the withdrawals of a retention sweep
	SourceExpiry      = "expiry"       // a consent whose validity ended
)

// BuiltInSources are the sources Consento records on its own: they exist
// on every installation (seeded, or added by migration 0016) and cannot be
// deactivated. All but web_form are recorded only by Consento itself and
// are not offered when staff record a consent by hand.
var BuiltInSources = []string{SourceWebForm, SourceSelfService, SourceStaffEntry, SourceAPI, SourceImport, SourceErasure, SourceRetention, SourceExpiry}

// IsBuiltInSource reports whether key is one of BuiltInSources.
func IsBuiltInSource(key string) bool { return slices.Contains(BuiltInSources, key) }

// IsManualSource reports whether staff may pick the source in the record
// form: every source but the built-in ones only Consento records.
func IsManualSource(key string) bool { return key == SourceWebForm || !IsBuiltInSource(key) }

var defaultSources = []SourceInput{
	{Key: "web_form", Name: "Web form"},
	{Key: "business_card", Name: "Business card"},
	{Key: "email", Name: "E-mail"},
	{Key: "phone", Name: "Phone"},
	{Key: "chat", Name: "Chat"},
	{Key: "event", Name: "Trade fair / event"},
	{Key: "import", Name: "Import"},
	{Key: "api", Name: "API"},
	{Key: "customer_portal", Name: "Customer portal"},
	{Key: "self_service", Name: "Self-service page"},
	// Added in 0016 (the migration adds them to older installations).
	{Key: "staff_entry", Name: "Staff entry"},
	{Key: "erasure", Name: "Erasure"},
	{Key: "retention", Name: "Retention period"},
	{Key: "expiry", Name: "Validity ended"},
}

// DefaultSourceName is the English name a source is seeded with ("" for a
// source staff added), so that pages can show built-in names translated.
func DefaultSourceName(key string) string {
	for _, s := range defaultSources {
		if s.Key == key {
			return s.Name
		}
	}
	return ""
}

// CreateSource adds a source.
func (s *Service) CreateSource(ctx context.Context, actor Actor, in SourceInput) (*Source, error) {
	var src *Source
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		src, err = s.createSource(tx, s.now(), actor, in)
		return err
	})
	return src, err
}

func (s *Service) createSource(tx *store.Tx, now time.Time, actor Actor, in SourceInput) (*Source, error) {
	in.Key, in.Name = strings.TrimSpace(in.Key), strings.TrimSpace(in.Name)
	var fe fieldErrs
	if !keyRe.MatchString(in.Key) {
		fe.add("key", "must be 2 to 63 characters: lower-case letters, digits and _, starting with a letter")
	}
	if in.Name == "" {
		fe.add("name", "is required")
	} else {
		fe.text(OneLine("name", in.Name, maxField))
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	tx.Forget()
	active := in.Active == nil || *in.Active
	id, err := tx.InsertID(`INSERT INTO sources (key, name, active) VALUES (?, ?, ?)`, in.Key, in.Name, b2i(active))
	if store.IsUniqueViolation(err) {
		return nil, conflict("duplicate-source", "a source with this key exists already", FieldError{Field: "key", Message: "is taken"})
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: create source: %w", err)
	}
	src := &Source{ID: id, Key: in.Key, Name: in.Name, Active: active, BuiltIn: IsBuiltInSource(in.Key), Manual: IsManualSource(in.Key)}
	return src, record(tx, now, audit.Entry{Actor: actor, Action: "source.create", ObjectType: "source", ObjectID: strconv.FormatInt(id, 10), After: src})
}

// UpdateSource renames, deactivates or reactivates a source.
func (s *Service) UpdateSource(ctx context.Context, actor Actor, key string, in SourceInput) (*Source, error) {
	var after Source
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		tx.Forget()
		var before Source
		var active int64
		err := tx.QueryRow(`SELECT id, key, name, active FROM sources WHERE key = ?`, key).Scan(&before.ID, &before.Key, &before.Name, &active)
		if isNoRows(err) {
			return notFound("unknown-source", fmt.Sprintf("there is no source %q", key))
		}
		if err != nil {
			return err
		}
		before.Active = active != 0
		before.BuiltIn, before.Manual = IsBuiltInSource(before.Key), IsManualSource(before.Key)
		after = before
		if n := strings.TrimSpace(in.Name); n != "" {
			if err := CheckTexts(OneLine("name", n, maxField)); err != nil {
				return err
			}
			after.Name = n
		}
		if in.Active != nil {
			after.Active = *in.Active
		}
		if before.BuiltIn && !after.Active {
			return invalid("built-in-source", fmt.Sprintf("the source %q is built in: Consento records it on its own, so it cannot be deactivated", key),
				FieldError{Field: "active", Message: "a built-in source cannot be deactivated"})
		}
		if _, err := tx.Exec(`UPDATE sources SET name = ?, active = ? WHERE id = ?`, after.Name, b2i(after.Active), after.ID); err != nil {
			return err
		}
		return record(tx, s.now(), audit.Entry{Actor: actor, Action: "source.update", ObjectType: "source", ObjectID: strconv.FormatInt(after.ID, 10), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// Sources lists every source.
func (s *Service) Sources(ctx context.Context) ([]Source, error) {
	rows, err := s.db.Query(ctx, `SELECT id, key, name, active FROM sources ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		var src Source
		var active int64
		if err := rows.Scan(&src.ID, &src.Key, &src.Name, &active); err != nil {
			return nil, err
		}
		src.Active = active != 0
		src.BuiltIn, src.Manual = IsBuiltInSource(src.Key), IsManualSource(src.Key)
		out = append(out, src)
	}
	return out, rows.Err()
}

// sourceID resolves an active source key inside a transaction.
func sourceID(tx *store.Tx, key string) (int64, error) {
	type row struct{ id, active int64 }
	v, err := tx.Memo("source:"+key, func() (any, error) {
		var r row
		err := tx.QueryRow(`SELECT id, active FROM sources WHERE key = ?`, key).Scan(&r.id, &r.active)
		return r, err
	})
	r, _ := v.(row)
	id, active := r.id, r.active
	if isNoRows(err) {
		return 0, invalid("unknown-source", fmt.Sprintf("there is no source %q", key), FieldError{Field: "source", Message: "unknown source"})
	}
	if err != nil {
		return 0, err
	}
	if active == 0 {
		return 0, invalid("inactive-source", fmt.Sprintf("the source %q is deactivated", key), FieldError{Field: "source", Message: "deactivated"})
	}
	return id, nil
}
