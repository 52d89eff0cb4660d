package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/consento/consento/internal/cli"
)

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	file := filepath.Join(dir, "crm-export.csv")
	csvText := "Vorname;Nachname;E-Mail;Einwilligung Newsletter, Mail;Quelle\n" +
		"Anna;Berg;anna@example.com;granted;web_form\n" +
		"Ben;Kohl;ben@example;granted;web_form\n" +
		"Carla;Meier;carla@example.com;withdrawn;fax\n" +
		"Dora;Berg;dora@example.com;;\n"
	if err := os.WriteFile(file, []byte(csvText), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), append([]string{"consento", "--data-dir", data}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, _, errOut := run("migrate"); code != 0 {
		t.Fatalf("migrate: %d %s", code, errOut)
	}
	mapArgs := []string{"--map", "first_name=Vorname", "--map", "last_name=Nachname", "--map", "email=E-Mail",
		"--map", "consent:e_marketing=Einwilligung Newsletter, Mail", "--map", "source=Quelle"}

	code, out, errOut := run(append(append([]string{"import", "--dry-run"}, mapArgs...), file)...)
	if code != 0 || !strings.Contains(out, "dry run, nothing written") || !strings.Contains(out, "2 persons created") || !strings.Contains(out, "2 rejected") {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errOut)
	}
	rejects := filepath.Join(dir, "crm-export.rejects.csv")
	os.Remove(rejects)

	code, out, errOut = run(append(append([]string{"import", "--no-progress"}, mapArgs...), file)...)
	if code != 0 || !strings.Contains(out, "imported: 4 rows read, 2 persons created, 0 updated, 1 consent events") || !strings.Contains(out, "rows/s") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatalf("rejects file: %v", err)
	}
	if !strings.Contains(string(b), `3;"E-Mail ""ben@example"": is not a valid e-mail address";Ben;`) || !strings.Contains(string(b), `4;"Quelle ""fax"": unknown source";Carla;`) {
		t.Fatalf("rejects:\n%s", b)
	}

	// Again: every valid row is a duplicate now.
	code, out, errOut = run(append(append([]string{"import", "--rejects", filepath.Join(dir, "again.csv")}, mapArgs...), file)...)
	if code != 0 || !strings.Contains(out, "0 persons created") || !strings.Contains(out, "duplicate-email 2") {
		t.Fatalf("second import: %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := run("audit", "verify"); code != 0 || !strings.Contains(out, "audit chain OK") {
		t.Fatalf("audit verify: %d %s %s", code, out, errOut)
	}

	if code, _, errOut := run(append([]string{"import", "--map", "consent:nope=Quelle"}, file)...); code == 0 || !strings.Contains(errOut, `there is no purpose "nope"`) {
		t.Fatalf("unknown purpose: %d %s", code, errOut)
	}
	if code, _, errOut := run("import", "--on-duplicate", "merge", file); code == 0 || !strings.Contains(errOut, "skip or update") {
		t.Fatalf("bad --on-duplicate: %d %s", code, errOut)
	}
}

func TestBenchImportCommand(t *testing.T) {
	data := t.TempDir()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), []string{"consento", "--data-dir", data, "bench", "import", "--rows", "2000", "--no-progress"}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "2000 persons, 4000 consent events, 0 rejected") || !strings.Contains(out.String(), "audit verify: OK") {
		t.Fatalf("bench import: %d\n%s\n%s", code, out.String(), errOut.String())
	}
	out.Reset()
	code = cli.Run(context.Background(), []string{"consento", "--data-dir", data, "bench", "import", "--rows", "10", "--no-progress"}, &out, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "--force") {
		t.Fatalf("bench import into a non-empty database: %d\n%s", code, errOut.String())
	}
}

// The dry run shows which column went into which field and which were
// ignored, as text and as JSON; a column named last_name beats one named
// name, whatever their order.
func TestImportDryRunShowsMapping(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONSENTO_DATA_DIR", filepath.Join(dir, "data"))
	file := filepath.Join(dir, "people.csv")
	os.WriteFile(file, []byte("name,email,last_name,Notes\nAcme Corp,anna@example.com,Berg,x\n"), 0o600)
	if code, _, errOut := run(t, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	code, out, errOut := run(t, "import", "--dry-run", file)
	if code != 0 {
		t.Fatalf("dry run: %d %s %s", code, out, errOut)
	}
	for _, re := range []string{`1\. "name" +→ \(ignored\)`, `2\. "email" +→ email`, `3\. "last_name" +→ last_name`, `4\. "Notes" +→ \(ignored\)`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("dry run output lacks %s:\n%s", re, out)
		}
	}
	code, out, errOut = run(t, "import", "--dry-run", "--json", file)
	var rep struct {
		DryRun  bool     `json:"dry_run"`
		Ignored []string `json:"ignored_columns"`
		Mapping []struct {
			Column, Field, By string
			Position          int
		} `json:"mapping"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("json: %d %v %s %s", code, err, out, errOut)
	}
	if !rep.DryRun || strings.Join(rep.Ignored, ",") != "name,Notes" || len(rep.Mapping) != 4 ||
		rep.Mapping[2].Column != "last_name" || rep.Mapping[2].Field != "last_name" || rep.Mapping[2].By != "name" || rep.Mapping[0].Field != "" {
		t.Fatalf("json report %+v", rep)
	}
}

// A broken CSV gives one clean line naming the line, not a stack trace.
func TestImportRecordsBadCSV(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONSENTO_DATA_DIR", dir)
	if code, _, errOut := run(t, "migrate"); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	file := filepath.Join(dir, "acts.csv")
	for _, text := range []string{
		"email,kind,subject\nanna@example.com,call,\"Called\nanna@example.com,call,x\n",
		"\ufeff\"email\",kind\nanna@example.com,ca\"ll\n",
	} {
		os.WriteFile(file, []byte(text), 0o600)
		code, out, errOut := run(t, "import-records", "--kind", "activities", file)
		if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "consento: the CSV file, line 2: ") ||
			strings.Contains(errOut, "goroutine") || strings.Contains(errOut, "ledger:") {
			t.Errorf("%q: %d %q %q", text, code, out, errOut)
		}
	}
}
