package linttest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"

	"github.com/consento/consento/internal/i18n"
)

// Config says which helpers of a package answer the reader, and whether
// its domain errors are shown as they are.
type Config struct {
	// Sinks maps a helper's name to the positions of its arguments a
	// reader sees: the staff UI's s.fail(w, p, status, msg) is
	// {"fail": {3}}, the public pages' h.message(w, status, lang, title,
	// text, newLink) {"message": {3, 4}}.
	Sinks map[string][]int
	// DomainErrors checks the Message of ledger.Error and
	// ledger.FieldError literals too: set it for the UI packages, which
	// build them for a form. Elsewhere they are the API's English texts
	// (problem+json) and not checked here.
	DomainErrors bool
}

// sinkFields are view fields a template prints as they are.
var sinkFields = []string{"Title", "Error", "Flash", "Message"}

// LintGo finds string literals with words that reach a reader in a Go
// source file without passing through the catalogue:
//
//   - the text of http.Error(w, text, code);
//   - the arguments of the helpers in cfg.Sinks (s.fail, h.message …);
//   - what fmt.Fprint, Fprintf, Fprintln and io.WriteString write to a
//     parameter of type http.ResponseWriter, and w.Write([]byte(…));
//   - values given to view fields named Title, Error, Flash or Message, in
//     a composite literal or by assignment (p.Error = …); in ledger.Error
//     and ledger.FieldError literals only with cfg.DomainErrors.
//
// A literal counts when it stands there directly, in a + concatenation,
// or as the format or an argument of fmt.Sprintf/Sprint. A literal that is
// a catalogue key, or has no word (HasWord), passes.
//
// JSON written to the response (a format starting with { or [) is not
// reader text. It does not follow values through variables, return values or other
// functions, nor see text written by templates, PDF or Excel writers, or
// text stored in the database and shown later (case notes, breach log
// entries, audit reasons): those are for the rendering tests with
// i18ntest.
func LintGo(filename string, src []byte, cfg Config) ([]Problem, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var ps []Problem
	report := func(e ast.Expr, why string) {
		for _, lit := range literals(e) {
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !HasWord(s) || isKey(s) || strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") {
				continue
			}
			pos := fset.Position(lit.Pos())
			ps = append(ps, Problem{fmt.Sprintf("%s:%d", pos.Filename, pos.Line), s, why})
		}
	}
	var writers []string // names of http.ResponseWriter parameters in scope
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			writers = responseWriters(n.Type)
			if n.Body != nil {
				ast.Inspect(n.Body, visit)
			}
			return false
		case *ast.FuncLit:
			outer := writers
			writers = append(slices.Clone(writers), responseWriters(n.Type)...)
			ast.Inspect(n.Body, visit)
			writers = outer
			return false
		case *ast.CallExpr:
			pkg, name := callee(n.Fun)
			switch {
			case pkg == "http" && name == "Error" && len(n.Args) >= 2:
				report(n.Args[1], "http.Error")
			case pkg != "fmt" && pkg != "io" && pkg != "http" && cfg.Sinks[name] != nil:
				for _, i := range cfg.Sinks[name] {
					if i < len(n.Args) {
						report(n.Args[i], name)
					}
				}
			case pkg == "fmt" && (name == "Fprintf" || name == "Fprint" || name == "Fprintln") && len(n.Args) >= 2 && isWriter(n.Args[0], writers):
				for _, a := range n.Args[1:] {
					report(a, "fmt."+name+" to the response")
				}
			case pkg == "io" && name == "WriteString" && len(n.Args) == 2 && isWriter(n.Args[0], writers):
				report(n.Args[1], "io.WriteString to the response")
			case name == "Write" && len(n.Args) == 1 && isWriter(receiver(n.Fun), writers):
				if conv, ok := n.Args[0].(*ast.CallExpr); ok && len(conv.Args) == 1 {
					report(conv.Args[0], "Write to the response")
				}
			}
		case *ast.CompositeLit:
			if !cfg.DomainErrors && isDomainError(n.Type) {
				return false
			}
		case *ast.KeyValueExpr:
			if k, ok := n.Key.(*ast.Ident); ok && slices.Contains(sinkFields, k.Name) {
				report(n.Value, "field "+k.Name)
			}
		case *ast.AssignStmt:
			for i, l := range n.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && slices.Contains(sinkFields, sel.Sel.Name) && i < len(n.Rhs) {
					report(n.Rhs[i], "field "+sel.Sel.Name)
				}
			}
		}
		return true
	}
	ast.Inspect(f, visit)
	return ps, nil
}

// isKey reports whether s is a catalogue key (in English, the reference).
func isKey(s string) bool { return i18n.Has(i18n.Reference, s) }

// literals are the string literals e is made of: e itself, the parts of a
// + concatenation, the arguments of fmt.Sprintf/Sprint/Sprintln.
func literals(e ast.Expr) []*ast.BasicLit {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			return []*ast.BasicLit{e}
		}
	case *ast.ParenExpr:
		return literals(e.X)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return append(literals(e.X), literals(e.Y)...)
		}
	case *ast.CallExpr:
		if pkg, name := callee(e.Fun); pkg == "fmt" && (name == "Sprintf" || name == "Sprint" || name == "Sprintln") {
			var out []*ast.BasicLit
			for _, a := range e.Args {
				out = append(out, literals(a)...)
			}
			return out
		}
	}
	return nil
}

// callee is the package or receiver name and the function name of a call:
// ("http", "Error") for http.Error, ("s", "fail") for s.fail, ("", "f")
// for f.
func callee(fun ast.Expr) (string, string) {
	switch f := fun.(type) {
	case *ast.Ident:
		return "", f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name, f.Sel.Name
		}
		return "?", f.Sel.Name
	}
	return "", ""
}

// isDomainError reports whether a composite literal's type is
// ledger.Error or ledger.FieldError.
func isDomainError(t ast.Expr) bool {
	sel, ok := t.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "ledger" && (sel.Sel.Name == "Error" || sel.Sel.Name == "FieldError")
}

func receiver(fun ast.Expr) ast.Expr {
	if s, ok := fun.(*ast.SelectorExpr); ok {
		return s.X
	}
	return nil
}

func isWriter(e ast.Expr, writers []string) bool {
	id, ok := e.(*ast.Ident)
	return ok && slices.Contains(writers, id.Name)
}

// responseWriters are the names of a function's http.ResponseWriter
// parameters.
func responseWriters(ft *ast.FuncType) []string {
	var out []string
	if ft == nil || ft.Params == nil {
		return nil
	}
	for _, p := range ft.Params.List {
		if sel, ok := p.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "ResponseWriter" {
			for _, n := range p.Names {
				out = append(out, n.Name)
			}
		}
	}
	return out
}
