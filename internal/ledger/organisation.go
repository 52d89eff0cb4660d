package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Organisation is a company that persons belong to.
type Organisation struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	RegNumber string    `json:"reg_number,omitempty"`
	Country   string    `json:"country,omitempty"`
	Persons   int64     `json:"persons"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OrganisationInput creates or changes an organisation.
type OrganisationInput struct {
	Name      string `json:"name"`
	RegNumber string `json:"reg_number"`
	Country   string `json:"country"`
}

func (in *OrganisationInput) validate() error {
	in.Name, in.RegNumber, in.Country = strings.TrimSpace(in.Name), strings.TrimSpace(in.RegNumber), strings.TrimSpace(in.Country)
	var fe fieldErrs
	if in.Name == "" {
		fe.add("name", "is required")
	} else {
		fe.text(OneLine("name", in.Name, maxField))
	}
	fe.text(OneLine("reg_number", in.RegNumber, textcheck.MaxRegNumber))
	if e, bad := CheckCountry("country", &in.Country); bad {
		fe = append(fe, e)
	}
	return fe.err()
}

// CreateOrganisation adds an organisation.
func (s *Service) CreateOrganisation(ctx context.Context, actor Actor, in OrganisationInput) (*Organisation, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var id int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		var err error
		id, err = tx.InsertID(`INSERT INTO organisations (name, reg_number, country, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			in.Name, in.RegNumber, in.Country, store.Micros(now), store.Micros(now))
		if err != nil {
			return fmt.Errorf("ledger: create organisation: %w", err)
		}
		tx.SetResult(id)
		return record(tx, now, audit.Entry{Actor: actor, Action: "organisation.create", ObjectType: "organisation", ObjectID: strconv.FormatInt(id, 10), After: in})
	})
	if err != nil {
		return nil, err
	}
	return s.Organisation(ctx, id)
}

// UpdateOrganisation replaces an organisation's fields.
func (s *Service) UpdateOrganisation(ctx context.Context, actor Actor, id int64, in OrganisationInput) (*Organisation, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	before, err := s.Organisation(ctx, id)
	if err != nil {
		return nil, err
	}
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		now := s.now()
		res, err := tx.Exec(`UPDATE organisations SET name = ?, reg_number = ?, country = ?, updated_at = ? WHERE id = ?`, in.Name, in.RegNumber, in.Country, store.Micros(now), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("unknown-organisation", "there is no such organisation")
		}
		return record(tx, now, audit.Entry{Actor: actor, Action: "organisation.update", ObjectType: "organisation", ObjectID: strconv.FormatInt(id, 10), Before: before, After: in})
	})
	if err != nil {
		return nil, err
	}
	return s.Organisation(ctx, id)
}

const orgQuery = `SELECT o.id, o.name, o.reg_number, o.country, o.created_at, o.updated_at, (SELECT COUNT(*) FROM persons p WHERE p.organisation_id = o.id) FROM organisations o`

func scanOrg(sc interface{ Scan(...any) error }) (*Organisation, error) {
	var o Organisation
	var c, u int64
	if err := sc.Scan(&o.ID, &o.Name, &o.RegNumber, &o.Country, &c, &u, &o.Persons); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = store.FromMicros(c), store.FromMicros(u)
	return &o, nil
}

// Organisation returns one organisation.
func (s *Service) Organisation(ctx context.Context, id int64) (*Organisation, error) {
	o, err := scanOrg(s.db.QueryRow(ctx, orgQuery+` WHERE o.id = ?`, id))
	if isNoRows(err) {
		return nil, notFound("unknown-organisation", "there is no such organisation")
	}
	return o, err
}

// Organisations lists organisations by name, optionally filtered by a name prefix.
func (s *Service) Organisations(ctx context.Context, query string, limit int) ([]*Organisation, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if err := CheckTexts(OneLine("q", query, textcheck.MaxQuery)); err != nil {
		return nil, err
	}
	q := strings.ToLower(strings.TrimSpace(query))
	rows, err := s.db.Query(ctx, orgQuery+fmt.Sprintf(` WHERE `+s.db.Fold("o.name")+` LIKE ? ORDER BY o.name, o.id LIMIT %d`, limit), q+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Organisation
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
