package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
)

// SavedFilter is a contacts-list filter kept under a name, for the team
// to pick again (in the list check, say).
type SavedFilter struct {
	ID     int64        `json:"id"`
	Name   string       `json:"name"`
	Filter PersonFilter `json:"filter"`
}

// savedFilter is what is stored of a PersonFilter: its conditions, never
// a page.
type savedFilter struct {
	Query        string `json:"query,omitempty"`
	Status       string `json:"status,omitempty"`
	Source       string `json:"source,omitempty"`
	Light        Light  `json:"traffic_light,omitempty"`
	Purpose      string `json:"purpose,omitempty"`
	PurposeState string `json:"purpose_state,omitempty"`
}

// SaveFilter keeps f's conditions under name (at most 100 characters,
// unique); it checks f first as ListPersons would.
func (s *Service) SaveFilter(ctx context.Context, actor Actor, name string, f PersonFilter) (*SavedFilter, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return nil, invalid("validation", "a saved filter needs a name of 1 to 100 characters", FieldError{Field: "name", Message: "1 to 100 characters"})
	}
	if err := CheckTexts(OneLine("name", name, 100)); err != nil {
		return nil, err
	}
	sf := savedFilter{Query: f.Query, Status: f.Status, Source: f.Source, Light: f.Light, Purpose: f.Purpose, PurposeState: f.PurposeState}
	if sf == (savedFilter{}) {
		return nil, invalid("validation", "the filter has no condition: it would select every contact", FieldError{Field: "filter", Message: "empty"})
	}
	out := &SavedFilter{Name: name, Filter: sf.filter()}
	check := out.Filter
	check.Limit = 1
	if _, _, err := s.ListPersons(ctx, check); err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(sf)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		id, err := tx.InsertID(`INSERT INTO saved_filters (name, filter, created_by, created_at) VALUES (?, ?, ?, ?)`, name, string(raw), actor.String(), store.Micros(now))
		if store.IsUniqueViolation(err) {
			return conflict("duplicate-name", "a saved filter has this name already", FieldError{Field: "name", Message: "taken"})
		}
		if err != nil {
			return fmt.Errorf("ledger: save filter: %w", err)
		}
		out.ID = id
		return record(tx, now, audit.Entry{Actor: actor, Action: "filter.save", ObjectType: "saved_filter", ObjectID: strconv.FormatInt(id, 10), After: out})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (sf savedFilter) filter() PersonFilter {
	return PersonFilter{Query: sf.Query, Status: sf.Status, Source: sf.Source, Light: sf.Light, Purpose: sf.Purpose, PurposeState: sf.PurposeState}
}

// SavedFilters lists the saved filters by name.
func (s *Service) SavedFilters(ctx context.Context) ([]SavedFilter, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, filter FROM saved_filters ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("ledger: saved filters: %w", err)
	}
	defer rows.Close()
	var out []SavedFilter
	for rows.Next() {
		var f SavedFilter
		var raw string
		var sf savedFilter
		if err := rows.Scan(&f.ID, &f.Name, &raw); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(raw), &sf); err != nil {
			return nil, fmt.Errorf("ledger: saved filter %d: %w", f.ID, err)
		}
		f.Filter = sf.filter()
		out = append(out, f)
	}
	return out, rows.Err()
}

// SavedFilterByID returns one saved filter.
func (s *Service) SavedFilterByID(ctx context.Context, id int64) (*SavedFilter, error) {
	f := SavedFilter{ID: id}
	var raw string
	var sf savedFilter
	err := s.db.QueryRow(ctx, `SELECT name, filter FROM saved_filters WHERE id = ?`, id).Scan(&f.Name, &raw)
	if isNoRows(err) {
		return nil, notFound("unknown-filter", "there is no such saved filter")
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(raw), &sf); err != nil {
		return nil, fmt.Errorf("ledger: saved filter %d: %w", id, err)
	}
	f.Filter = sf.filter()
	return &f, nil
}

// DeleteFilter removes a saved filter.
func (s *Service) DeleteFilter(ctx context.Context, actor Actor, id int64) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(`DELETE FROM saved_filters WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("unknown-filter", "there is no such saved filter")
		}
		return record(tx, s.now(), audit.Entry{Actor: actor, Action: "filter.delete", ObjectType: "saved_filter", ObjectID: strconv.FormatInt(id, 10)})
	})
}
