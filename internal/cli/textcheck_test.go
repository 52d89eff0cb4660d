package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consento/consento/internal/storetest"
)

// A text the command line refuses is named with its field in a clean
// message, on both engines: no internal error text, no SQLSTATE.
func TestCommandLineRefusesBadTextsCleanly(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		opts := storetest.Options(t, e)
		t.Setenv("CONSENTO_DATA_DIR", opts.DataDir)
		t.Setenv("CONSENTO_DATABASE_URL", opts.DatabaseURL)
		if code, _, errOut := run(t, "migrate"); code != 0 {
			t.Fatalf("migrate: %d %q", code, errOut)
		}
		pw := filepath.Join(opts.DataDir, "pw")
		os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600)
		for _, c := range []struct {
			args  []string
			field string
		}{
			{[]string{"token", "create", "--name", "crm\x00sync", "--scope", "persons:read"}, "name: must not contain control characters"},
			{[]string{"token", "create", "--name", strings.Repeat("t", 201), "--scope", "persons:read"}, "name: must be at most 200 characters"},
			{[]string{"user", "create", "--email", "dpo@example.com", "--name", "Dana\nAdmin", "--password-file", pw}, "name: must be a single line"},
		} {
			code, out, errOut := run(t, c.args...)
			if code == 0 || !strings.Contains(errOut, c.field) || strings.Contains(errOut, "SQLSTATE") || strings.Contains(errOut, "ledger:") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want a clean message with %q", c.args[:2], code, out, errOut, c.field)
			}
		}
		if code, out, _ := run(t, "token", "list"); code != 0 || strings.Contains(out, "crm") {
			t.Errorf("a refused token was stored: %q", out)
		}
	})
}
