package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consento/consento/internal/store"
)

func TestRetentionCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONSENTO_DATA_DIR", dir)
	people := filepath.Join(dir, "people.csv")
	os.WriteFile(people, []byte("first_name,last_name,email\nAnna,Berg,anna@example.com\nBert,Kurz,bert@example.com\n"), 0o600)
	if code, out, errOut := run(t, "import", people); code != 0 {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	// Anna's last interaction was 400 days ago; persons with no active
	// purpose are kept 365 days.
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	old := store.Micros(time.Now().AddDate(0, 0, -400))
	if err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(`UPDATE persons SET created_at = ?, updated_at = ? WHERE first_name = 'Anna'`, old, old); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE retention_settings SET inactive_days = 365`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, errOut := run(t, "retention", "run", "--dry-run")
	if code != 0 || !strings.Contains(out, "no active purpose: 365 days after last interaction on "+time.Now().AddDate(0, 0, -400).Format("2006-01-02")) ||
		!strings.Contains(out, "examined 2, expired 1, would anonymize 1, skipped 0") || strings.Contains(out, "Anna") {
		t.Fatalf("dry run: %d %q %q", code, out, errOut)
	}
	code, out, errOut = run(t, "retention", "run", "--format", "json")
	var rep struct {
		Examined, Expired, Anonymized int
		DryRun                        bool `json:"dry_run"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Anonymized != 1 || rep.Expired != 1 || rep.DryRun {
		t.Fatalf("run: %d %q %q", code, out, errOut)
	}
	if code, out, _ = run(t, "retention", "run"); code != 0 || !strings.Contains(out, "examined 1, expired 0, anonymized 0") {
		t.Fatalf("second run: %d %q", code, out)
	}
	if code, _, errOut = run(t, "retention", "run", "--format", "xml"); code == 0 || !strings.Contains(errOut, "table or json") {
		t.Fatalf("bad format: %d %q", code, errOut)
	}
	t.Setenv("CONSENTO_RETENTION_INTERVAL", "daily")
	if code, _, errOut = run(t, "retention", "run"); code == 0 || !strings.Contains(errOut, "CONSENTO_RETENTION_INTERVAL") {
		t.Fatalf("bad interval: %d %q", code, errOut)
	}
}
