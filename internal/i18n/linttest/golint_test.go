package linttest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// surface are the Go sources that write what staff users, data subjects
// and recipients read: whole packages (directories) or single files.
var surface = map[string]Config{
	"internal/ui":                      {Sinks: map[string][]int{"fail": {3}}, DomainErrors: true},
	"internal/selfservice":             {Sinks: map[string][]int{"message": {3, 4}}, DomainErrors: true},
	"internal/mail":                    {},
	"internal/rights/render.go":        {},
	"internal/rights/report.go":        {},
	"internal/rights/report_labels.go": {},
	"internal/rights/report_text.go":   {},
	"internal/rights/reportmail.go":    {},
	"internal/rights/portability.go":   {},
	"internal/breach/notice.go":        {},
}

// exempt are literals that reach a client but not a reader, by file.
var exempt = map[string][]string{
	// RFC 8058 one-click unsubscribe: the answer goes to the mail client.
	"internal/selfservice/unsubscribe.go": {"unsubscribed\n"},
}

func TestGoCodeSendsNoWordsOutsideTheCatalogue(t *testing.T) {
	n := 0
	for s, cfg := range surface {
		files := []string{filepath.Join(root, s)}
		if strings.HasSuffix(s, ".go") {
			if _, err := os.Stat(files[0]); err != nil {
				t.Fatal(err)
			}
		} else {
			var err error
			if files, err = filepath.Glob(filepath.Join(root, s, "*.go")); err != nil || len(files) == 0 {
				t.Fatalf("%s: no Go files (%v)", s, err)
			}
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, f)
			ps, err := LintGo(rel, src, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				if slices.Contains(exempt[rel], p.Text) {
					continue
				}
				t.Errorf("%s (put it in internal/i18n/locales and use i18n.T)", p)
			}
			n++
		}
	}
	t.Logf("%d Go files checked", n)
}
