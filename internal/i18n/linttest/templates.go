// Package linttest finds words written into Consento's templates and Go
// code instead of the message catalogues (internal/i18n/locales): a word
// there reaches a German or Danish reader in English. Its tests run the
// checks over every template and surface package of the repository.
package linttest

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template/parse"

	"golang.org/x/net/html"

	"github.com/consento/consento/internal/i18n"
)

// Problem is one text a reader would read that is not from the catalogue.
type Problem struct {
	Where string // file:line
	Text  string // the text found
	Why   string // "text", "attribute title", "literal" …
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s %q", p.Where, p.Why, p.Text) }

// Allowed are the few texts that are not words of a language and may stand
// in a template or in Go code as they are, matched as whole tokens
// (letters, digits and hyphens). Keep this list short and say why each is
// here.
var Allowed = []string{
	"Consento",    // the product's name, the same in every language
	"HTTP",        // protocol name before a status code ("HTTP 503")
	"UTC",         // time zone name, the same in every language
	"ms",          // unit: milliseconds
	"JSON", "CSV", // file formats, named so in every language (download links)
	"DE", "DE-BY", // ISO 3166 codes, the examples in a country/region field
	"List-Unsubscribe", // the mail header's name, shown as such on the outbox page
	"webhook-id",       // the webhook header's name, shown as such on a delivery
}

// catalogueFuncs are template functions and methods whose string
// arguments are catalogue keys or enum values, never printed as given.
var catalogueFuncs = []string{"t", "label", "date", "datetime", "num", "money", "L", "T", "N", "Label"}

// word is a letter sequence a reader would read: two letters or more.
var word = regexp.MustCompile(`\p{L}{2,}`)

// verb is a fmt verb (%s, %-8d, %%): not a word.
var verb = regexp.MustCompile(`%[-+# 0-9.*]*[a-zA-Z%]`)

// hole stands for an action in the text given to the HTML tokenizer.
const hole = "\uE000"

// tokenRe splits a text into tokens for the allowlist.
var tokenRe = regexp.MustCompile(`[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*`)

// HasWord reports whether s has a word a reader would read once fmt verbs
// and the allowed tokens are taken out.
func HasWord(s string) bool {
	s = verb.ReplaceAllString(s, " ")
	for _, tok := range tokenRe.FindAllString(s, -1) {
		if word.MatchString(tok) && !slices.Contains(Allowed, tok) {
			return true
		}
	}
	return false
}

// LintTemplate finds the words in an html/template source: text outside
// actions (the content of elements and the reader-visible attributes
// title, alt, placeholder, aria-label and the value of buttons), and
// string literals printed by an action other than a catalogue call
// ({{"Save"}}, {{printf "Total: %d" .N}}). name is used in Where.
func LintTemplate(name, src string) ([]Problem, error) {
	trees, err := parseTrees(name, src)
	if err != nil {
		return nil, err
	}
	var ps []Problem
	for _, tn := range slices.Sorted(mapsKeys(trees)) {
		tree := trees[tn]
		var b strings.Builder
		walk(tree.Root, func(n parse.Node) {
			switch n := n.(type) {
			case *parse.TextNode:
				b.Write(n.Text)
			case *parse.ActionNode:
				b.WriteString(hole)
				if n.Pipe != nil && len(n.Pipe.Decl) == 0 {
					for _, lit := range printedLiterals(n.Pipe) {
						if HasWord(lit) && !i18n.Has("en", lit) {
							ps = append(ps, Problem{fmt.Sprintf("%s:%d", name, lineOf(tree, n)), lit, "literal"})
						}
					}
				}
			default:
				b.WriteString(hole) // if/range/with/template: a break in the text
			}
		})
		for _, p := range lintHTML(b.String()) {
			p.Where = name + ":" + p.Where
			ps = append(ps, p)
		}
	}
	return ps, nil
}

func mapsKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func parseTrees(name, src string) (map[string]*parse.Tree, error) {
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck | parse.ParseComments
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(src, "{{", "}}", trees); err != nil {
		return nil, err
	}
	return trees, nil
}

// lineOf is the line of n in its template.
func lineOf(tree *parse.Tree, n parse.Node) int {
	loc, _ := tree.ErrorContext(n)
	// loc is "name:line:col"
	parts := strings.Split(loc, ":")
	if len(parts) >= 3 {
		var l int
		fmt.Sscan(parts[len(parts)-2], &l)
		return l
	}
	return 0
}

// walk calls f on every node of the list in document order, descending
// into both branches of if, range and with.
func walk(n parse.Node, f func(parse.Node)) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, f)
		}
	case *parse.IfNode:
		f(n)
		walk(n.List, f)
		walk(n.ElseList, f)
		f(n)
	case *parse.RangeNode:
		f(n)
		walk(n.List, f)
		walk(n.ElseList, f)
		f(n)
	case *parse.WithNode:
		f(n)
		walk(n.List, f)
		walk(n.ElseList, f)
		f(n)
	default:
		f(n)
	}
}

// printedLiterals are the string literals an action's pipeline may print:
// the arguments of its commands, unless the command is a catalogue call
// (whose arguments are keys), descending into parenthesised pipelines.
func printedLiterals(p *parse.PipeNode) []string {
	var out []string
	for _, c := range p.Cmds {
		if len(c.Args) == 0 {
			continue
		}
		if isCatalogueCall(c.Args[0]) {
			continue
		}
		for _, a := range c.Args {
			switch a := a.(type) {
			case *parse.StringNode:
				out = append(out, a.Text)
			case *parse.PipeNode:
				out = append(out, printedLiterals(a)...)
			}
		}
	}
	return out
}

func isCatalogueCall(n parse.Node) bool {
	var name string
	switch n := n.(type) {
	case *parse.IdentifierNode:
		name = n.Ident
	case *parse.FieldNode:
		name = n.Ident[len(n.Ident)-1]
	case *parse.VariableNode:
		name = n.Ident[len(n.Ident)-1]
	case *parse.ChainNode:
		name = n.Field[len(n.Field)-1]
	}
	return slices.Contains(catalogueFuncs, name)
}

// readAttrs are the attributes a reader reads (value only on buttons).
var readAttrs = []string{"title", "alt", "placeholder", "aria-label"}

// lintHTML tokenizes a template's text with the actions replaced by holes
// and finds the words in element content and readable attributes. Where
// is the line in the text (holes count as nothing).
func lintHTML(src string) []Problem {
	var ps []Problem
	z := html.NewTokenizer(strings.NewReader(src))
	line := 1
	skip := "" // inside <script>, <style>, <code> or <textarea> (code)
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return ps
		}
		raw := z.Raw()
		at := line
		line += bytes.Count(raw, []byte("\n"))
		tok := z.Token()
		switch tt {
		case html.TextToken:
			if skip != "" {
				continue
			}
			if t := clean(tok.Data); HasWord(t) {
				ps = append(ps, Problem{fmt.Sprint(at + leadingLines(tok.Data)), t, "text"})
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			if skip == "" && (tok.Data == "script" || tok.Data == "style" || tok.Data == "code" || tok.Data == "textarea") {
				skip = tok.Data
			}
			button := tok.Data == "button" || tok.Data == "input" && (attr(tok, "type") == "submit" || attr(tok, "type") == "button" || attr(tok, "type") == "reset")
			for _, a := range tok.Attr {
				if slices.Contains(readAttrs, a.Key) || button && a.Key == "value" {
					if t := clean(a.Val); HasWord(t) {
						ps = append(ps, Problem{fmt.Sprint(at), t, "attribute " + a.Key})
					}
				}
			}
		case html.EndTagToken:
			if tok.Data == skip {
				skip = ""
			}
		}
	}
}

func attr(t html.Token, key string) string {
	for _, a := range t.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func leadingLines(s string) int {
	return strings.Count(s[:len(s)-len(strings.TrimLeft(s, " \t\r\n"))], "\n")
}

// clean is s without holes and with its spaces folded.
func clean(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, hole, " ")), " ")
}

// Actions lists the fields and variables the actions of a template use
// ({{.Name}}, {{$.Link}}, {{range .Items}} …), sorted, for comparing the
// language versions of one mail template.
func Actions(name, src string) ([]string, error) {
	trees, err := parseTrees(name, src)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var visit func(parse.Node)
	visit = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.FieldNode:
			seen["."+strings.Join(n.Ident, ".")] = true
		case *parse.VariableNode:
			if n.Ident[0] == "$" && len(n.Ident) > 1 {
				seen["."+strings.Join(n.Ident[1:], ".")] = true
			}
		case *parse.ChainNode:
			visit(n.Node)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				for _, a := range c.Args {
					visit(a)
				}
			}
		case *parse.ActionNode:
			visit(n.Pipe)
		case *parse.IfNode:
			visit(n.Pipe)
		case *parse.RangeNode:
			visit(n.Pipe)
		case *parse.WithNode:
			visit(n.Pipe)
		case *parse.TemplateNode:
			visit(n.Pipe)
		}
	}
	for _, tree := range trees {
		walk(tree.Root, visit)
	}
	return slices.Sorted(mapsKeys(seen)), nil
}
