package linttest

import (
	"strings"
	"testing"
)

func TestLintTemplateFindsWordsAndLeavesCatalogueCallsAlone(t *testing.T) {
	for _, c := range []struct {
		src  string
		want []string // texts found; nil for none
	}{
		{`<h1>Contacts</h1>`, []string{"Contacts"}},
		{`<p>{{.N}} contacts</p>`, []string{"contacts"}},
		{`<button type="submit">{{t .Lang "contacts.save"}}</button>`, nil},
		{`<img alt="Logo" src="/x.png">`, []string{"Logo"}},
		{`<input type="submit" value="Send">`, []string{"Send"}},
		{`<input type="hidden" name="csrf" value="token">`, nil},
		{`<nav aria-label="main">`, []string{"main"}},
		{`<a title="{{t .Lang "nav.main"}}" href="/a/b-c">{{.Name}}</a>`, nil},
		{`{{"Save"}}`, []string{"Save"}},
		{`{{printf "Total: %d" .N}}`, []string{"Total: %d"}},
		{`{{printf "%s · %d" .A .N}}`, nil},
		{`{{t .Lang (printf "label.source.%s" .K)}}`, nil},
		{`{{if eq .Type "portability"}}{{.X}}{{end}}`, nil},
		{`{{define "content"}}<td>{{if .X}}yes{{else}}{{.Y}}{{end}}</td>{{end}}`, []string{"yes"}},
		{`<p>{{.A}} · {{.B}} – 5 %, ({{.C}})</p>`, nil},
		{`<style>body { font-family: sans-serif }</style><script>let x = "hello"</script>`, nil},
		{`<p>Consento · HTTP {{.Code}} · 3 ms</p>`, nil},
		{`<p>{{/* a comment with words */}}</p>`, nil},
	} {
		ps, err := LintTemplate("t.html", c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.Text)
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: found %q, want %q", c.src, got, c.want)
		}
	}
}

func TestActionsListsTheFieldsATemplateUses(t *testing.T) {
	got, err := Actions("m", `Hallo {{.Name}}, {{range .Items}}{{.Title}}{{end}} {{if $.Link}}{{$.Link}}{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != ".Items .Link .Name .Title" {
		t.Errorf("Actions = %q", got)
	}
}

func TestLintGoFindsLiteralsThatReachTheReader(t *testing.T) {
	src := `package p

func a(w http.ResponseWriter, r *http.Request, p page) {
	http.Error(w, "internal error", 500)
	http.Error(w, i18n.T(p.Lang, "error.internal"), 500)
	s.fail(w, p, 422, "Name is "+"missing")
	s.fail(w, p, 422, i18n.T(p.Lang, "error.notfound"))
	s.failErr(w, p, err, "load contacts")
	fmt.Fprintf(w, "Total: %d", 3)
	fmt.Fprintf(w, "{\"gpc\": true}")
	fmt.Fprintf(os.Stderr, "log line")
	w.Write([]byte("done"))
	p.Flash = fmt.Sprintf("Saved %d", 3)
	p.Error = "contacts.title"
	_ = page{Title: "Contacts", Error: i18n.T(p.Lang, "x")}
	_ = ledger.FieldError{Field: "x", Message: "must be a number"}
	go func(rw http.ResponseWriter) { io.WriteString(rw, "hello") }(w)
}
`
	ps, err := LintGo("p.go", []byte(src), Config{Sinks: map[string][]int{"fail": {3}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Text)
	}
	want := []string{"internal error", "Name is ", "missing", "Total: %d", "done", "Saved %d", "Contacts", "hello"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("found %q, want %q", got, want)
	}
	ps, _ = LintGo("p.go", []byte(src), Config{Sinks: map[string][]int{"fail": {3}}, DomainErrors: true})
	if len(ps) != len(want)+1 || ps[len(ps)-2].Text != "must be a number" {
		t.Errorf("with DomainErrors: %v", ps)
	}
}
