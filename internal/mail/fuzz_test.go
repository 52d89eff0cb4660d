package mail

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTemplate takes any text as a staff member's version of a mail
// template and any values as a recipient's name and link: a source is
// accepted or refused with a TemplateError, never a panic; an accepted
// one renders a one-line subject; and a mailing's shortcut (render once
// with markers, fill in each recipient) gives exactly what rendering the
// template for that recipient alone gives.
func FuzzTemplate(f *testing.F) {
	for _, lang := range Languages {
		for _, name := range Templates {
			src, err := DefaultSource(name, lang)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(src, "Grete", "https://example.com/p/abc")
		}
	}
	const parts = `{{define "text"}}x{{end}}{{define "html"}}<p>{{.Name}}</p>{{end}}`
	for _, src := range []string{
		`{{define "subject"}}Hi {{slice .Name 0 1}}{{end}}` + parts,
		`{{define "subject"}}Hi {{printf "%.3s" .Name}}{{end}}` + parts,
		`{{define "subject"}}{{if eq .Name "Ole"}}Hej{{else}}Hello{{end}} {{.Name}}{{end}}` + parts,
		`{{define "subject"}}{{len .Name}}{{end}}` + parts,
		`{{define "subject"}}{{.Name | html}}{{end}}{{define "text"}}{{.PreferenceURL}}{{end}}{{define "html"}}<a href="{{.PreferenceURL}}">{{.Name}}</a>{{end}}`,
		`{{define "subject"}}{{template "subject"}}{{end}}` + parts,
		`{{define "subject"}}{{printf "%999999d" 1}}{{printf "%999999d" 1}}{{end}}` + parts,
		`{{define "subject"}}{{index .Purposes 3}}{{end}}` + parts,
		`{{define "subject"}}{{.Name}`,
		"{{define \"subject\"}}\x00\xff{{end}}" + parts,
	} {
		f.Add(src, "Ole", "https://example.com/p/x")
	}
	f.Add(`{{define "subject"}}Hi {{.Name}}{{end}}`+parts, "Z\r\nBcc: x@example.com", "javascript:alert(1)")
	f.Fuzz(func(t *testing.T, src, name, link string) {
		err := CheckSource("consent_request", src)
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) || !utf8.ValidString(strings.ToValidUTF8(err.Error(), "")) {
				t.Fatalf("refusal %v is not a TemplateError", err)
			}
			return
		}
		tm, err := parse("consent_request", src)
		if err != nil {
			t.Fatalf("accepted but does not parse: %v", err)
		}
		shared := sample()
		delete(shared, "Name")
		delete(shared, "PreferenceURL")
		personal := map[string]string{"Name": name, "PreferenceURL": link}
		ws, wt, wh, werr := tm.execute(merged(shared, personal))
		if werr == nil && strings.ContainsAny(ws, "\r\n") {
			t.Fatalf("subject %q spans lines", ws)
		}
		st := buildStencil(tm, shared, personal)
		if st == nil {
			return // rendered in full for each recipient
		}
		gs, gt, gh, ok := st.fill(personal)
		if !ok {
			return
		}
		if werr != nil {
			t.Fatalf("the shortcut rendered what the template refuses: %v", werr)
		}
		if gs != ws || gt != wt || gh != wh {
			t.Fatalf("shortcut and full rendering differ for %q, %q:\nsubject %q\n     vs %q\ntext %q\n  vs %q\nhtml %q\n  vs %q", name, link, gs, ws, gt, wt, gh, wh)
		}
	})
}

// The built-in templates keep the mailing shortcut; templates that hand a
// personal value to code do not, and so render right for everyone.
func TestStencilOnlyForPrintedValues(t *testing.T) {
	personal := map[string]string{"Name": "Anna", "PreferenceURL": "https://example.com/p/a", "UnsubscribeURL": "https://example.com/u/a"}
	shared := sample()
	for k := range personal {
		delete(shared, k)
	}
	for _, lang := range Languages {
		for _, name := range Templates {
			src, _ := DefaultSource(name, lang)
			tm, err := parse(name, src)
			if err != nil {
				t.Fatal(err)
			}
			if buildStencil(tm, shared, personal) == nil {
				t.Errorf("%s.%s: no shortcut", name, lang)
			}
		}
	}
	const parts = `{{define "text"}}x{{end}}{{define "html"}}<p>{{.Name}}</p>{{end}}`
	for _, subject := range []string{`{{slice .Name 0 1}}`, `{{if eq .Name "Ole"}}Hej{{end}}`, `{{$n := .Name}}{{$n}}`, `{{with .Name}}{{.}}{{end}}`, `{{.Name | printf "%.2s"}}`, `{{$.Name | len}}`} {
		tm, err := parse("x", `{{define "subject"}}`+subject+`{{end}}`+parts)
		if err != nil {
			t.Fatal(err)
		}
		if buildStencil(tm, shared, personal) != nil {
			t.Errorf("%s: shortcut taken", subject)
		}
	}
}
