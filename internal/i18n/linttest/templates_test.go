package linttest

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// root is the repository root, from this package's directory.
const root = "../../.."

// templateDirs hold the html/template files of the staff UI, the public
// pages and the Art. 15 report.
var templateDirs = []string{"internal/ui/templates", "internal/selfservice/templates", "internal/rights/templates"}

func TestTemplatesHaveNoWordsOutsideTheCatalogue(t *testing.T) {
	n := 0
	for _, dir := range templateDirs {
		files, err := filepath.Glob(filepath.Join(root, dir, "*.html"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no templates (%v)", dir, err)
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ps, err := LintTemplate(filepath.Join(dir, filepath.Base(f)), string(src))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				t.Errorf("%s (put it in internal/i18n/locales and use t)", p)
			}
			n++
		}
	}
	t.Logf("%d templates checked", n)
}

// Mail templates are written per language; each must exist in every
// language and use the same fields.
func TestMailTemplatesExistInEveryLanguageWithTheSameFields(t *testing.T) {
	dir := filepath.Join(root, "internal/mail/templates")
	name := regexp.MustCompile(`^(.+)\.([a-z]{2})\.tmpl$`)
	byName := map[string]map[string][]string{} // template → lang → fields
	langs := map[string]bool{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		m := name.FindStringSubmatch(p)
		if m == nil {
			return nil
		}
		src, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		fields, err := Actions(p, string(src))
		if err != nil {
			return err
		}
		if byName[m[1]] == nil {
			byName[m[1]] = map[string][]string{}
		}
		byName[m[1]][m[2]] = fields
		langs[m[2]] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(byName) == 0 {
		t.Fatal("no mail templates found")
	}
	for tmpl, per := range byName {
		ref := per["en"]
		if ref == nil {
			t.Errorf("%s: no English version", tmpl)
		}
		for lang := range langs {
			fields, ok := per[lang]
			if !ok {
				t.Errorf("%s: missing in %s", tmpl, lang)
				continue
			}
			if ref != nil && !slices.Equal(fields, ref) {
				t.Errorf("%s.%s.tmpl uses %s, the English one %s", tmpl, lang, strings.Join(fields, " "), strings.Join(ref, " "))
			}
		}
	}
}
