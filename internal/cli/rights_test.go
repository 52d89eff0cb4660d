package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportRecordsAndRightsCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONSENTO_DATA_DIR", dir)
	people := filepath.Join(dir, "people.csv")
	os.WriteFile(people, []byte("first_name,last_name,email\nAnna,Berg,anna@example.com\n"), 0o600)
	if code, out, errOut := run(t, "import", people); code != 0 {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	acts := filepath.Join(dir, "activities.csv")
	os.WriteFile(acts, []byte("email,kind,occurred_at,subject\nanna@example.com,call,2026-03-02,Called\nanna@example.com,telex,2026-03-02,Old\n"), 0o600)
	code, out, errOut := run(t, "import-records", "--kind", "activities", "--dry-run", acts)
	if code != 0 || !strings.Contains(out, "would import (dry run) 1, rejected 1") || !strings.Contains(out, "line 3: kind") {
		t.Fatalf("dry run: %d %q %q", code, out, errOut)
	}
	if code, out, errOut = run(t, "import-records", "--kind", "activities", acts); code != 0 || !strings.Contains(out, "imported 1, rejected 1") {
		t.Fatalf("import-records: %d %q %q", code, out, errOut)
	}
	if code, _, errOut = run(t, "import-records", "--kind", "letters", acts); code == 0 || !strings.Contains(errOut, "activities or business_records") {
		t.Fatalf("unknown kind: %d %q", code, errOut)
	}
	if code, out, errOut = run(t, "rights", "list", "--state", "all"); code != 0 || !strings.Contains(out, "DEADLINE") {
		t.Fatalf("rights list: %d %q %q", code, out, errOut)
	}
	if code, out, _ = run(t, "rights", "sweep"); code != 0 || out != "0 reminded, 0 escalated\n" {
		t.Fatalf("rights sweep: %d %q", code, out)
	}
}
