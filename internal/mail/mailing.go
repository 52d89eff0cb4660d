package mail

import (
	"slices"
	"strings"
	tparse "text/template/parse"

	"github.com/consento/consento/internal/store"
)

// A mailing sends one template to many recipients: most of the data is the
// same for all, a few strings (name, personal links) differ. Rendering the
// template for each of 100,000 recipients dominates the time to queue, so
// EnqueueMailing renders it once per language with markers in place of the
// personal values (a stencil) and fills the markers in for each recipient.
//
// A stencil is used only when it provably renders what the template
// would: it is checked once against a full render with probe values that
// html/template escapes in every way it can (<, &, quotes, +); a template
// that puts a personal value where the escaping differs (a URL attribute
// with text, a script) is rendered in full for every recipient instead.

const marker = "ZQXMARKQZ"

type stencil struct {
	subject, text, html string
	keys                []string // personal keys, in marker order
	urls                map[string]bool
}

func markerFor(i int) string { return marker + string(rune('a'+i)) + "Z" }

// htmlEscape escapes as html/template does for text in HTML.
var htmlEscape = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

func isURL(v string) bool { return strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") }

// safeURL: characters html/template leaves alone in an href (a % only
// when it starts an escape such as %2F; a lone one becomes %25).
func safeURL(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~:/?=#", c) >= 0:
		case c == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]):
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func (s *stencil) fill(personal map[string]string) (subject, text, html string, ok bool) {
	pairsText := make([]string, 0, 2*len(s.keys))
	pairsHTML := make([]string, 0, 2*len(s.keys))
	for i, k := range s.keys {
		v := personal[k]
		if s.urls[k] != (isURL(v)) || (s.urls[k] && !safeURL(v)) {
			return "", "", "", false
		}
		m := markerFor(i)
		pairsText = append(pairsText, m, v)
		pairsHTML = append(pairsHTML, m, htmlEscape.Replace(v))
	}
	rt, rh := strings.NewReplacer(pairsText...), strings.NewReplacer(pairsHTML...)
	return oneLine(rt.Replace(s.subject)), rt.Replace(s.text), rh.Replace(s.html), true
}

func merged(shared map[string]any, personal map[string]string) map[string]any {
	d := make(map[string]any, len(shared)+len(personal))
	for k, v := range shared {
		d[k] = v
	}
	for k, v := range personal {
		d[k] = v
	}
	return d
}

// buildStencil renders t with markers for the personal keys (those empty in
// the shape stay empty, as {{if}} may test them) and checks it with probes.
func buildStencil(t *template, shared map[string]any, shape map[string]string) *stencil {
	s := &stencil{urls: map[string]bool{}}
	for k := range shape {
		s.keys = append(s.keys, k)
	}
	slices.Sort(s.keys)
	if !printsOnly(t, s.keys) {
		return nil
	}
	marks, probes := map[string]string{}, map[string]string{}
	for i, k := range s.keys {
		switch v := shape[k]; {
		case v == "":
			marks[k], probes[k] = "", ""
		case isURL(v):
			s.urls[k] = true
			marks[k], probes[k] = "https://"+markerFor(i), "https://probe.example/p/Ab-_9?x=1#f"
		default:
			marks[k], probes[k] = markerFor(i), `Zoë <b>&"'+x`
		}
	}
	var err error
	if s.subject, s.text, s.html, err = t.execute(merged(shared, marks)); err != nil {
		return nil
	}
	// Markers stand for whole values: a URL's marker carries its scheme.
	for i, k := range s.keys {
		if s.urls[k] {
			m := markerFor(i)
			s.subject = strings.ReplaceAll(s.subject, "https://"+m, m)
			s.text = strings.ReplaceAll(s.text, "https://"+m, m)
			s.html = strings.ReplaceAll(s.html, "https://"+m, m)
		}
	}
	ws, wt, wh, err := t.execute(merged(shared, probes))
	if err != nil {
		return nil
	}
	gs, gt, gh, ok := s.fill(probes)
	if !ok || gs != ws || gt != wt || gh != wh {
		return nil
	}
	return s
}

// printsOnly reports whether the template uses the personal keys only
// as {{.Key}} (printed as they are) and {{if .Key}} (tested for being
// empty, which the shape fixes). A value passed to a function ({{slice
// .Name 0 1}}, {{eq .Name "Ole"}}, {{printf "%.3s" .Name}}), bound to a
// variable or made the dot ({{with .Name}}) can change the mail in ways
// markers cannot stand for: such a template is rendered in full for each
// recipient.
func printsOnly(t *template, keys []string) bool {
	personal := map[string]bool{}
	for _, k := range keys {
		personal[k] = true
	}
	ok := true
	var walk func(n tparse.Node, simple bool)
	uses := func(args []tparse.Node) bool {
		for _, a := range args {
			switch a := a.(type) {
			case *tparse.FieldNode:
				if len(a.Ident) > 0 && personal[a.Ident[0]] {
					return true
				}
			case *tparse.VariableNode:
				if len(a.Ident) > 1 && personal[a.Ident[1]] {
					return true
				}
			case *tparse.ChainNode:
				for _, f := range a.Field {
					if personal[f] {
						return true
					}
				}
			case *tparse.PipeNode:
				walk(a, false)
			}
		}
		return false
	}
	walk = func(n tparse.Node, simple bool) {
		if !ok || n == nil {
			return
		}
		switch n := n.(type) {
		case *tparse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c, false)
				}
			}
		case *tparse.ActionNode:
			walk(n.Pipe, len(n.Pipe.Decl) == 0)
		case *tparse.IfNode:
			walk(n.Pipe, len(n.Pipe.Decl) == 0)
			walk(n.List, false)
			walk(n.ElseList, false)
		case *tparse.RangeNode:
			walk(n.Pipe, false)
			walk(n.List, false)
			walk(n.ElseList, false)
		case *tparse.WithNode:
			walk(n.Pipe, false)
			walk(n.List, false)
			walk(n.ElseList, false)
		case *tparse.TemplateNode:
			walk(n.Pipe, false)
		case *tparse.PipeNode:
			if n == nil {
				return
			}
			for i, c := range n.Cmds {
				// {{.Key}} alone is a print (or, in {{if}}, a test);
				// anything else hands the value to code.
				if simple && len(n.Cmds) == 1 && i == 0 && len(c.Args) == 1 {
					if _, field := c.Args[0].(*tparse.FieldNode); field {
						continue
					}
				}
				if uses(c.Args) {
					ok = false
					return
				}
			}
		}
	}
	for _, tt := range t.text.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree.Root, false)
		}
	}
	return ok
}

// shapeKey names which personal values are empty (templates may test them).
func shapeKey(lang string, personal map[string]string) string {
	var b strings.Builder
	b.WriteString(lang)
	keys := make([]string, 0, len(personal))
	for k := range personal {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteByte('|')
		b.WriteString(k)
		if personal[k] == "" {
			b.WriteString("=")
		}
	}
	return b.String()
}

// Recipient is one addressee of a mailing.
type Recipient struct {
	PersonID int64
	To       string
	Language string
	// Personal are the values that differ per recipient (name, links).
	Personal    map[string]string
	Unsubscribe *Unsubscribe
}

// EnqueueMailing renders one template with shared data for every
// recipient and queues the mails inside tx. It returns how many it queued.
func EnqueueMailing(tx *store.Tx, name string, shared map[string]any, rs []Recipient) (int, error) {
	stencils := map[string]*stencil{}
	byLang := map[string]map[string]any{} // shared with the language as .Lang
	out := make([]rendered, 0, 500)
	n := 0
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		k, err := insertRendered(tx, out)
		n += k
		out = out[:0]
		return err
	}
	for _, r := range rs {
		m := Message{Template: name, Language: Language(r.Language), PersonID: r.PersonID, To: r.To, Unsubscribe: r.Unsubscribe}
		personal := r.Personal
		if m.Unsubscribe != nil {
			personal = make(map[string]string, len(r.Personal)+1)
			for k, v := range r.Personal {
				personal[k] = v
			}
			personal["UnsubscribeURL"] = m.Unsubscribe.URL
		}
		key := shapeKey(m.Language, personal)
		st, seen := stencils[key]
		if !seen {
			t, err := templateTx(tx, name, m.Language)
			if err != nil {
				return n, err
			}
			sl := byLang[m.Language]
			if sl == nil {
				sl = merged(shared, map[string]string{"Lang": m.Language})
				byLang[m.Language] = sl
			}
			st = buildStencil(t, sl, personal)
			stencils[key] = st
		}
		var ok bool
		var rr rendered
		if st != nil && validRecipient(m.To) {
			rr = rendered{m: m}
			rr.subject, rr.text, rr.html, ok = st.fill(personal)
			if ok && m.Unsubscribe != nil {
				rr.unsubscribe = m.Unsubscribe.Header()
			}
		}
		if !ok { // the full render, which also checks what the stencil skips
			m.Data = merged(shared, r.Personal)
			var err error
			if rr, err = render(tx, m); err != nil {
				return n, err
			}
		}
		out = append(out, rr)
		if len(out) == cap(out) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}
