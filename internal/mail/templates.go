package mail

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	htemplate "html/template"
	"strings"
	ttemplate "text/template"
	"time"

	"github.com/consento/consento/internal/i18n"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/textcheck"
)

//go:embed templates/*.tmpl
var defaultFS embed.FS

// Templates are the mails Consento sends, each in en, de and da.
var Templates = []string{"optin", "welcome", "consent_request", "preference_link"}

// Languages of the built-in templates.
var Languages = []string{"en", "de", "da"}

// A template source defines three parts: {{define "subject"}},
// {{define "text"}} (plain text) and {{define "html"}} (HTML, escaped by
// html/template).
type template struct {
	text *ttemplate.Template
	html *htemplate.Template
}

// sample is data every template must render with (checked on save).
func sample() map[string]any {
	purposes := []map[string]any{{"Name": "E-marketing", "ConsentText": "Yes, I would like newsletters.", "Description": "Newsletters by e-mail.",
		"LegalBasis": "Consent", "Article": "Art. 6(1)(a) GDPR"}}
	return map[string]any{
		"Lang": "en", "Name": "Grete", "Controller": "Example Ltd", "ConfirmURL": "https://example.com/f/confirm/x", "PreferenceURL": "https://example.com/p/x",
		"PrivacyURL": "https://example.com/privacy", "FormName": "Newsletter", "ExpiresHours": 48, "Purposes": purposes,
		"UnsubscribeURL": "https://example.com/u/x",
	}
}

// funcs are the template functions of mails, with the mail's language in
// .Lang: {{t .Lang "key"}}, {{label .Lang "legal_basis" .X}},
// {{date .Lang .At}}, {{datetime .Lang .At}}, {{num .Lang .N}} and
// {{money .Lang .Cents "EUR"}}. date also takes a calendar day as
// "YYYY-MM-DD" text.
var funcs = func() map[string]any {
	f := i18n.TemplateFuncs()
	date := f["date"].(func(string, any) string)
	f["date"] = func(lang string, v any) string {
		if s, ok := v.(string); ok {
			d, err := time.ParseInLocation("2006-01-02", s, i18n.Zone())
			if err != nil {
				return s
			}
			return i18n.Date(lang, d)
		}
		return date(lang, v)
	}
	return f
}()

func parse(name, src string) (*template, error) {
	tt, err := ttemplate.New(name).Option("missingkey=zero").Funcs(funcs).Parse(src)
	if err != nil {
		return nil, err
	}
	ht, err := htemplate.New(name).Option("missingkey=zero").Funcs(htemplate.FuncMap(funcs)).Parse(src)
	if err != nil {
		return nil, err
	}
	for _, part := range []string{"subject", "text", "html"} {
		if tt.Lookup(part) == nil {
			return nil, fmt.Errorf("the template must define %q", part)
		}
	}
	return &template{text: tt, html: ht}, nil
}

// maxRendered bounds each part of a rendered mail: a template such as
// {{printf "%999999d" 1}} repeated must not fill the memory.
const maxRendered = 1 << 20

var errTooLarge = fmt.Errorf("a part of the mail renders to more than %d KiB", maxRendered>>10)

// limitedBuffer refuses writes past maxRendered bytes, which stops the
// template at once.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxRendered {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}

func (t *template) execute(data any) (subject, text, html string, err error) {
	var b limitedBuffer
	if err = t.text.ExecuteTemplate(&b, "subject", data); err != nil {
		return
	}
	subject = oneLine(b.String())
	b.Reset()
	if err = t.text.ExecuteTemplate(&b, "text", data); err != nil {
		return
	}
	text = strings.TrimSpace(b.String()) + "\n"
	b.Reset()
	if err = t.html.ExecuteTemplate(&b, "html", data); err != nil {
		return
	}
	html = strings.TrimSpace(b.String()) + "\n"
	if subject == "" {
		err = errors.New("the subject is empty")
	}
	return
}

// oneLine is a subject as sent: whitespace, line breaks included, folded
// to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func known(name string) bool {
	for _, t := range Templates {
		if t == name {
			return true
		}
	}
	return false
}

// DefaultSource is the built-in source of a template.
func DefaultSource(name, lang string) (string, error) {
	if !known(name) {
		return "", fmt.Errorf("mail: unknown template %q", name)
	}
	b, err := defaultFS.ReadFile("templates/" + name + "." + Language(lang) + ".tmpl")
	return string(b), err
}

// templateTx loads a template (the staff's version, else the built-in one),
// cached for the rest of the write batch.
func templateTx(tx *store.Tx, name, lang string) (*template, error) {
	if !known(name) {
		return nil, fmt.Errorf("mail: unknown template %q", name)
	}
	v, err := tx.Memo("mail-template:"+name+":"+lang, func() (any, error) {
		var src string
		err := tx.QueryRow(`SELECT source FROM mail_templates WHERE template = ? AND language = ?`, name, lang).Scan(&src)
		if errors.Is(err, sql.ErrNoRows) {
			if src, err = DefaultSource(name, lang); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
		return parse(name, src)
	})
	if err != nil {
		return nil, fmt.Errorf("mail: template %s (%s): %w", name, lang, err)
	}
	return v.(*template), nil
}

// TemplateSource is a template as staff see it in the editor.
type TemplateSource struct {
	Template, Language, Source string
	Custom                     bool // changed by staff
	UpdatedAt                  time.Time
	UpdatedBy                  string
}

// Source returns the current source of a template in one language.
func Source(ctx context.Context, db *store.DB, name, lang string) (*TemplateSource, error) {
	def, err := DefaultSource(name, lang)
	if err != nil {
		return nil, err
	}
	ts := &TemplateSource{Template: name, Language: Language(lang), Source: def}
	var at int64
	err = db.QueryRow(ctx, `SELECT source, updated_at, updated_by FROM mail_templates WHERE template = ? AND language = ?`, name, ts.Language).Scan(&ts.Source, &at, &ts.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return ts, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mail: template source: %w", err)
	}
	ts.Custom, ts.UpdatedAt = true, store.FromMicros(at)
	return ts, nil
}

// TemplateError says why a template source was refused.
type TemplateError struct{ Err error }

func (e *TemplateError) Error() string { return "the template is not valid: " + e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// CheckSource parses src and renders it with sample data.
func CheckSource(name, src string) error {
	if !known(name) {
		return &TemplateError{fmt.Errorf("unknown template %q", name)}
	}
	if len(src) > 64<<10 {
		return &TemplateError{errors.New("longer than 64 KiB")}
	}
	if bad := textcheck.Text(src, 64<<10); bad != textcheck.OK {
		return &TemplateError{errors.New(bad.Message(64 << 10))}
	}
	t, err := parse(name, src)
	if err != nil {
		return &TemplateError{err}
	}
	if _, _, _, err := t.execute(sample()); err != nil {
		return &TemplateError{err}
	}
	return nil
}

// SaveSourceTx stores the staff's version of a template (empty src restores
// the built-in one). The caller writes the audit event.
func SaveSourceTx(tx *store.Tx, by, name, lang, src string) error {
	lang = Language(lang)
	tx.Forget()
	if strings.TrimSpace(src) == "" {
		_, err := tx.Exec(`DELETE FROM mail_templates WHERE template = ? AND language = ?`, name, lang)
		return err
	}
	if err := CheckSource(name, src); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO mail_templates (template, language, source, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (template, language) DO UPDATE SET source = excluded.source, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		name, lang, src, store.Micros(time.Now()), by)
	return err
}
