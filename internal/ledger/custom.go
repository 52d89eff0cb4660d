package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/input"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// maxOptions bounds the options of a select field.
const maxOptions = 200

// Custom field types.
var fieldTypes = map[string]bool{"text": true, "number": true, "date": true, "bool": true, "select": true}

// CustomField is a typed field staff add to persons.
type CustomField struct {
	ID        int64    `json:"id"`
	Key       string   `json:"key"`
	Label     string   `json:"label"`
	Type      string   `json:"type"`
	Options   []string `json:"options,omitempty"`
	Sensitive bool     `json:"sensitive"`

	// Searchable: a sensitive field with a blind index for exact search.
	Searchable bool `json:"searchable"`
}

// CreateCustomField defines a new custom field.
func (s *Service) CreateCustomField(ctx context.Context, actor Actor, f CustomField) (*CustomField, error) {
	f.Key, f.Label = strings.TrimSpace(f.Key), strings.TrimSpace(f.Label)
	var fe fieldErrs
	if !keyRe.MatchString(f.Key) {
		fe.add("key", "must be 2 to 63 characters: lower-case letters, digits and _, starting with a letter")
	}
	if f.Label == "" {
		fe.add("label", "is required")
	} else {
		fe.text(OneLine("label", f.Label, textcheck.MaxName))
	}
	if !fieldTypes[f.Type] {
		fe.add("type", "must be one of text, number, date, bool, select")
	}
	if f.Type == "select" && len(f.Options) == 0 {
		fe.add("options", "a select field needs options")
	}
	if len(f.Options) > maxOptions {
		fe.add("options", fmt.Sprintf("at most %d options", maxOptions))
	}
	for i, o := range f.Options { // one per line in storage: no line breaks
		if bad := textcheck.Line(o, textcheck.MaxName); bad != textcheck.OK {
			fe.add(fmt.Sprintf("options[%d]", i), bad.Message(textcheck.MaxName))
		}
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		id, err := tx.InsertID(`INSERT INTO custom_fields (key, label, type, options, sensitive, searchable) VALUES (?, ?, ?, ?, ?, ?)`,
			f.Key, f.Label, f.Type, strings.Join(f.Options, "\n"), b2i(f.Sensitive), b2i(f.Searchable && f.Sensitive))
		if store.IsUniqueViolation(err) {
			return conflict("duplicate-field", "a custom field with this key exists already", FieldError{Field: "key", Message: "is taken"})
		}
		if err != nil {
			return err
		}
		f.ID = id
		return record(tx, s.now(), audit.Entry{Actor: actor, Action: "custom_field.create", ObjectType: "custom_field", ObjectID: strconv.FormatInt(id, 10), After: f})
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// CustomFields lists the defined custom fields.
func (s *Service) CustomFields(ctx context.Context) ([]CustomField, error) {
	rows, err := s.db.Query(ctx, `SELECT `+fieldCols+` FROM custom_fields ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanFields(rows)
}

func scanFields(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) ([]CustomField, error) {
	var out []CustomField
	for rows.Next() {
		var f CustomField
		var opts string
		var sens, search int64
		if err := rows.Scan(&f.ID, &f.Key, &f.Label, &f.Type, &opts, &sens, &search); err != nil {
			return nil, err
		}
		if opts != "" {
			f.Options = strings.Split(opts, "\n")
		}
		f.Sensitive = sens != 0
		f.Searchable = search != 0 && f.Sensitive
		out = append(out, f)
	}
	return out, rows.Err()
}

// validateCustom checks values against the field definitions and returns
// them in canonical form.
func validateCustom(tx *store.Tx, values map[string]any) (map[string]any, fieldErrs, error) {
	out := map[string]any{}
	if len(values) == 0 {
		return out, nil, nil
	}
	byKey, err := fieldDefsTx(tx)
	if err != nil {
		return nil, nil, err
	}
	var fe fieldErrs
	for k, v := range values {
		d, ok := byKey[k]
		field := "custom." + k
		if !ok {
			fe.add(field, "there is no custom field with this key")
			continue
		}
		switch d.Type {
		case "text":
			s, ok := v.(string)
			if !ok {
				fe.add(field, "must be a text of at most 2000 characters")
				continue
			}
			if bad := textcheck.Text(s, 2000); bad != textcheck.OK {
				fe.add(field, bad.Message(2000))
				continue
			}
			out[k] = s
		case "number":
			switch n := v.(type) {
			case float64:
				out[k] = n
			case string:
				f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
				if err != nil {
					fe.add(field, "must be a number")
					continue
				}
				out[k] = f
			default:
				fe.add(field, "must be a number")
			}
		case "date":
			s, _ := v.(string)
			if _, err := input.Date(s); err != nil || s != strings.TrimSpace(s) {
				fe.add(field, "must be a date like 2026-01-31")
				continue
			}
			out[k] = s
		case "bool":
			switch b := v.(type) {
			case bool:
				out[k] = b
			case string:
				pb, err := strconv.ParseBool(b)
				if err != nil {
					fe.add(field, "must be true or false")
					continue
				}
				out[k] = pb
			default:
				fe.add(field, "must be true or false")
			}
		case "select":
			s, _ := v.(string)
			found := false
			for _, o := range d.Options {
				found = found || o == s
			}
			if !found {
				fe.add(field, fmt.Sprintf("must be one of: %s", strings.Join(d.Options, ", ")))
				continue
			}
			out[k] = s
		}
	}
	return out, fe, nil
}
