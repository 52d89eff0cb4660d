package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

// Vault keeps the values of sensitive custom fields encrypted outside
// persons.custom (package secrets implements it). Without a vault the
// ledger refuses to store a sensitive value and shows none.
type Vault interface {
	// StoreTx encrypts value for the person's field, with a blind index
	// when the field is searchable.
	StoreTx(tx *store.Tx, personID int64, f CustomField, value string) error
	// RemoveTx deletes the person's value of a field.
	RemoveTx(tx *store.Tx, personID, fieldID int64) error
	// RevealTx decrypts one value; ok is false when there is none.
	RevealTx(tx *store.Tx, personID int64, f CustomField) (value string, ok bool, err error)
	// Reveal decrypts the values of the persons, by person and field key.
	Reveal(ctx context.Context, personIDs []int64) (map[int64]map[string]string, error)
	// Lookup finds the persons whose value of a searchable field equals
	// value, through the blind index.
	Lookup(ctx context.Context, f CustomField, value string) ([]int64, error)
	// EnqueueProtectTx schedules moving the plaintext values of a field
	// newly marked sensitive into the vault.
	EnqueueProtectTx(tx *store.Tx, fieldID int64) error
}

// SetVault installs the vault for sensitive fields.
func (s *Service) SetVault(v Vault) { s.vault = v }

// HasVault reports whether sensitive values can be stored.
func (s *Service) HasVault() bool { return s.vault != nil }

// SensitiveValue is a sensitive field's value as staff and the API see it.
type SensitiveValue struct {
	Key    string `json:"key"`
	Label  string `json:"label"`
	Masked string `json:"masked"`
}

// MaskChar is what stands in for a hidden character.
const MaskChar = "•"

// Mask hides a sensitive value: the last four characters (white space
// and hyphens left out) of an identifier of at least eight stay visible;
// everything else (free text such as health data, short values) is
// hidden entirely. The mask has a fixed
// length so that it does not tell the value's length.
func Mask(f CustomField, value string) string {
	if value == "" {
		return ""
	}
	r := []rune(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' {
			return -1
		}
		return r
	}, value))
	if !f.Searchable || len(r) < 8 {
		return strings.Repeat(MaskChar, 8)
	}
	return strings.Repeat(MaskChar, 4) + string(r[len(r)-4:])
}

func (s *Service) sensitiveDefs(ctx context.Context) (map[string]CustomField, error) {
	fs, err := s.CustomFields(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]CustomField{}
	for _, f := range fs {
		if f.Sensitive {
			out[f.Key] = f
		}
	}
	return out, nil
}

// SensitiveFields lists the custom fields marked sensitive.
func (s *Service) SensitiveFields(ctx context.Context) ([]CustomField, error) {
	fs, err := s.CustomFields(ctx)
	if err != nil {
		return nil, err
	}
	var out []CustomField
	for _, f := range fs {
		if f.Sensitive {
			out = append(out, f)
		}
	}
	return out, nil
}

// pendingSecret is a sensitive value on its way into the vault.
type pendingSecret struct {
	f      CustomField
	value  string
	remove bool
}

// takeSensitive removes the values of sensitive fields from custom (a
// validated persons.custom) and returns them, with the removals of the
// keys in removed, for storeSensitive.
func (s *Service) takeSensitive(tx *store.Tx, custom map[string]any, removed []string) ([]pendingSecret, error) {
	if len(custom) == 0 && len(removed) == 0 {
		return nil, nil
	}
	defs, err := fieldDefsTx(tx)
	if err != nil {
		return nil, err
	}
	var out []pendingSecret
	for k, v := range custom {
		f, ok := defs[k]
		if !ok || !f.Sensitive {
			continue
		}
		delete(custom, k)
		if s.vault == nil {
			return nil, invalid("sensitive-unavailable", "sensitive fields cannot be stored: no master key is configured (CONSENTO_MASTER_KEY)",
				FieldError{Field: "custom." + k, Message: "cannot be stored without a master key"})
		}
		out = append(out, pendingSecret{f: f, value: SensitiveText(v)})
	}
	for _, k := range removed {
		if f, ok := defs[k]; ok && f.Sensitive && s.vault != nil {
			out = append(out, pendingSecret{f: f, remove: true})
		}
	}
	return out, nil
}

// storeSensitive writes the taken values to the vault and notes in
// trail (the custom map the audit event records) that they changed,
// never what they are.
func (s *Service) storeSensitive(tx *store.Tx, personID int64, pend []pendingSecret, trail map[string]any) error {
	for _, ps := range pend {
		if ps.remove {
			if err := s.vault.RemoveTx(tx, personID, ps.f.ID); err != nil {
				return err
			}
			trail[ps.f.Key] = "[sensitive, removed]"
			continue
		}
		if err := s.vault.StoreTx(tx, personID, ps.f, ps.value); err != nil {
			return err
		}
		trail[ps.f.Key] = "[sensitive]"
	}
	return nil
}

// scrubSensitive replaces, in a custom map about to be recorded in the
// audit log, the plaintext of sensitive fields not yet moved to the vault.
func scrubSensitive(tx *store.Tx, custom map[string]any) error {
	if len(custom) == 0 {
		return nil
	}
	defs, err := fieldDefsTx(tx)
	if err != nil {
		return err
	}
	for k := range custom {
		if defs[k].Sensitive {
			custom[k] = "[sensitive]"
		}
	}
	return nil
}

// SensitiveText is the stored text of a validated custom value.
func SensitiveText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func fieldDefsTx(tx *store.Tx) (map[string]CustomField, error) {
	rows, err := tx.Query(`SELECT ` + fieldCols + ` FROM custom_fields`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fs, err := scanFields(rows)
	if err != nil {
		return nil, err
	}
	out := map[string]CustomField{}
	for _, f := range fs {
		out[f.Key] = f
	}
	return out, nil
}

// fieldCols are the custom_fields columns scanFields reads.
const fieldCols = `id, key, label, type, options, sensitive, searchable`

// maskSensitive replaces, in the persons read, every sensitive value by
// its mask and lists the masked fields in Person.Sensitive. Values still
// in persons.custom (a field marked sensitive whose values are being
// moved) are masked just the same.
func (s *Service) maskSensitive(ctx context.Context, ps []*Person) error {
	defs, err := s.sensitiveDefs(ctx)
	if err != nil || len(defs) == 0 {
		return err
	}
	var vals map[int64]map[string]string
	if s.vault != nil {
		ids := make([]int64, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		if vals, err = s.vault.Reveal(ctx, ids); err != nil {
			return err
		}
	}
	for _, p := range ps {
		for k, f := range defs {
			v, ok := vals[p.ID][k]
			if raw, inPlain := p.Custom[k]; inPlain {
				delete(p.Custom, k)
				if !ok {
					v, ok = SensitiveText(raw), true
				}
			}
			if !ok || v == "" {
				continue
			}
			p.Custom[k] = Mask(f, v)
			p.Sensitive = append(p.Sensitive, SensitiveValue{Key: k, Label: f.Label, Masked: Mask(f, v)})
		}
		sortSensitive(p.Sensitive)
	}
	return nil
}

func sortSensitive(vs []SensitiveValue) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && vs[j].Key < vs[j-1].Key; j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
}

// sensitiveField loads a field by key and checks it is sensitive.
func (s *Service) sensitiveField(ctx context.Context, key string) (CustomField, error) {
	defs, err := s.sensitiveDefs(ctx)
	if err != nil {
		return CustomField{}, err
	}
	f, ok := defs[key]
	if !ok {
		return CustomField{}, notFound("unknown-sensitive-field", "there is no sensitive field with this key")
	}
	return f, nil
}

// UnmaskSensitive returns the full value of a person's sensitive field.
// Only with a stated reason; the audit log records who read which field
// and why (the event is sealed under the person's key like every
// person event).
func (s *Service) UnmaskSensitive(ctx context.Context, actor Actor, personID int64, fieldKey, reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) < 3 || len(reason) > 500 {
		return "", invalid("reason-required", "state why you need the full value (3 to 500 characters)", FieldError{Field: "reason", Message: "is required (3 to 500 characters)"})
	}
	if err := CheckTexts(MultiLine("reason", reason, 500)); err != nil {
		return "", err
	}
	f, err := s.sensitiveField(ctx, fieldKey)
	if err != nil {
		return "", err
	}
	var value string
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		p, err := loadPersonTx(tx, personID)
		if err != nil {
			return err
		}
		if p.Status == StatusAnonymized {
			return &Error{Kind: KindGone, Code: "person-anonymized", Message: "this person was anonymized"}
		}
		v, ok := "", false
		if s.vault != nil {
			if v, ok, err = s.vault.RevealTx(tx, personID, f); err != nil {
				return err
			}
		}
		if raw, inPlain := p.Custom[f.Key]; !ok && inPlain {
			v, ok = SensitiveText(raw), true
		}
		if !ok {
			return notFound("no-sensitive-value", "this person has no value in this field")
		}
		value = v
		return recordPerson(tx, s.now(), audit.Entry{Actor: actor, Action: "sensitive.unmask", ObjectType: "person", ObjectID: strconv.FormatInt(personID, 10),
			PersonID: personID, Reason: reason, After: map[string]string{"field": f.Key}})
	})
	if err != nil {
		return "", err
	}
	return value, nil
}

// FindBySensitive returns the persons whose value of a searchable
// sensitive field is exactly value (after normalisation: spaces and
// hyphens removed, upper case), found through the blind index.
func (s *Service) FindBySensitive(ctx context.Context, fieldKey, value string) ([]*Person, error) {
	if err := CheckTexts(OneLine("field", fieldKey, 63)); err != nil {
		return nil, err
	}
	f, err := s.sensitiveField(ctx, fieldKey)
	if err != nil {
		return nil, err
	}
	if !f.Searchable {
		return nil, invalid("not-searchable", "this sensitive field is not searchable", FieldError{Field: "field", Message: "is not searchable"})
	}
	if strings.TrimSpace(value) == "" {
		return nil, invalid("validation", "some fields are invalid", FieldError{Field: "value", Message: "is required"})
	}
	if err := CheckTexts(OneLine("value", value, textcheck.MaxShort)); err != nil {
		return nil, err
	}
	if s.vault == nil {
		return []*Person{}, nil
	}
	ids, err := s.vault.Lookup(ctx, f, value)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []*Person{}, nil
	}
	if len(ids) > 500 {
		ids = ids[:500]
	}
	ps, _, err := s.ListPersons(ctx, PersonFilter{IDs: ids, Limit: len(ids)})
	return ps, err
}

// MarkSensitive marks an existing custom field sensitive (searchable adds
// a blind index). Its stored plaintext values are then moved into the
// vault by a background job; until that is done they are masked on
// reading like every sensitive value.
func (s *Service) MarkSensitive(ctx context.Context, actor Actor, key string, searchable bool) (*CustomField, error) {
	if s.vault == nil {
		return nil, invalid("sensitive-unavailable", "fields cannot be marked sensitive: no master key is configured (CONSENTO_MASTER_KEY)")
	}
	var out CustomField
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		defs, err := fieldDefsTx(tx)
		if err != nil {
			return err
		}
		f, ok := defs[key]
		if !ok {
			return notFound("unknown-field", "there is no custom field with this key")
		}
		if f.Sensitive {
			return conflict("already-sensitive", "this field is sensitive already")
		}
		before := f
		f.Sensitive, f.Searchable = true, searchable
		if _, err := tx.Exec(`UPDATE custom_fields SET sensitive = 1, searchable = ? WHERE id = ?`, b2i(searchable), f.ID); err != nil {
			return fmt.Errorf("ledger: mark sensitive: %w", err)
		}
		if err := s.vault.EnqueueProtectTx(tx, f.ID); err != nil {
			return err
		}
		out = f
		return record(tx, s.now(), audit.Entry{Actor: actor, Action: "custom_field.mark_sensitive", ObjectType: "custom_field", ObjectID: strconv.FormatInt(f.ID, 10), Before: before, After: f})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RevealForSubject replaces the masks in p, a person as Person returns
// them, by the full values of their sensitive fields, for a copy that goes
// to the person themself: their Art. 15(3) copy or their Art. 20 export
// holds their own data in full, masking is for staff screens. p.Sensitive
// is emptied (nothing in the copy is masked). It returns the keys of the
// fields revealed; the caller must record the disclosure with
// RecordSubjectDisclosureTx in the transaction that hands the copy over.
func (s *Service) RevealForSubject(ctx context.Context, p *Person) ([]string, error) {
	if len(p.Sensitive) == 0 {
		return nil, nil
	}
	defs, err := s.sensitiveDefs(ctx)
	if err != nil {
		return nil, err
	}
	var vals map[string]string
	if s.vault != nil {
		all, err := s.vault.Reveal(ctx, []int64{p.ID})
		if err != nil {
			return nil, err
		}
		vals = all[p.ID]
	}
	// Values of a field marked sensitive lately may still wait in
	// persons.custom for the job that moves them into the vault.
	var raw string
	if err := s.db.QueryRow(ctx, `SELECT custom FROM persons WHERE id = ?`, p.ID).Scan(&raw); err != nil {
		return nil, fmt.Errorf("ledger: reveal for subject: %w", err)
	}
	plain := map[string]any{}
	_ = json.Unmarshal([]byte(raw), &plain)
	var keys []string
	for _, sv := range p.Sensitive {
		v, ok := vals[sv.Key]
		if raw, inPlain := plain[sv.Key]; !ok && inPlain {
			v, ok = SensitiveText(raw), true
		}
		if _, known := defs[sv.Key]; !ok || !known {
			continue // the mask stays: the value could not be read
		}
		p.Custom[sv.Key] = v
		keys = append(keys, sv.Key)
	}
	if len(keys) == len(p.Sensitive) {
		p.Sensitive = nil
	}
	return keys, nil
}

// RecordSubjectDisclosureTx writes the audit event of a disclosure of the
// person's sensitive values (the keys RevealForSubject returned) to the
// person themself, with how it reached them as the reason. The event names
// the fields, never their values.
func RecordSubjectDisclosureTx(tx *store.Tx, at time.Time, actor Actor, personID int64, keys []string, reason string) error {
	if len(keys) == 0 {
		return nil
	}
	return recordPerson(tx, at, audit.Entry{Actor: actor, Action: "sensitive.disclose_to_subject", ObjectType: "person", ObjectID: strconv.FormatInt(personID, 10),
		PersonID: personID, Reason: reason, After: map[string]any{"fields": keys}})
}
