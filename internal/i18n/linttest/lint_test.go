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
