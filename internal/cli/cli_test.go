package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consento/consento/internal/cli"
	"github.com/consento/consento/internal/store"
)

// run runs the consento command line and returns exit code, stdout, stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), append([]string{"consento"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestConfigurationIsValidated(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "nonsense", "migrate"}, "--addr / CONSENTO_ADDR"},
		{[]string{"--database-url", "mysql://x", "migrate"}, "must start with postgres://"},
		{[]string{"--log-level", "loud", "migrate"}, "--log-level"},
		{[]string{"--public-url", "ftp://x", "migrate"}, "--public-url"},
	} {
		code, _, errOut := run(t, append([]string{"--data-dir", t.TempDir()}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want mention of %q", c.args, code, errOut, c.want)
		}
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "url")
	os.WriteFile(f, []byte("mysql://from-file\n"), 0o600)
	t.Setenv("CONSENTO_DATABASE_URL_FILE", f)
	code, _, errOut := run(t, "--data-dir", dir, "migrate")
	if code == 0 || !strings.Contains(errOut, "must start with postgres://") {
		t.Fatalf("CONSENTO_DATABASE_URL_FILE not read: exit %d %q", code, errOut)
	}
}

func TestOperatorCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONSENTO_DATA_DIR", dir)
	if code, out, errOut := run(t, "migrate"); code != 0 || !strings.Contains(out, "database schema is at version ") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600)
	if code, out, errOut := run(t, "user", "create", "--email", "dpo@example.com", "--role", "privacy_officer", "--password-file", pw); code != 0 || !strings.Contains(out, "privacy_officer user dpo@example.com") {
		t.Fatalf("user create: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run(t, "user", "create", "--email", "dpo@example.com", "--password-file", pw); code == 0 || !strings.Contains(errOut, "exists already") {
		t.Fatalf("duplicate user: %d %q", code, errOut)
	}
	os.WriteFile(pw, []byte("short\n"), 0o600)
	if code, _, errOut := run(t, "user", "create", "--email", "x@example.com", "--password-file", pw); code == 0 || !strings.Contains(errOut, "at least 12") {
		t.Fatalf("short password: %d %q", code, errOut)
	}
	code, secret, errOut := run(t, "token", "create", "--name", "crm-sync", "--scope", "consents:read,persons:read")
	if code != 0 || !strings.HasPrefix(secret, "cns_") || !strings.Contains(errOut, "consents:read persons:read") {
		t.Fatalf("token create: %d %q %q", code, secret, errOut)
	}
	if code, _, errOut := run(t, "token", "create", "--name", "x", "--scope", "everything"); code == 0 || !strings.Contains(errOut, "unknown scope") {
		t.Fatalf("bad scope: %d %q", code, errOut)
	}
	if code, out, _ := run(t, "token", "list"); code != 0 || !strings.Contains(out, "crm-sync") || !strings.Contains(out, "active") || strings.Contains(out, strings.TrimSpace(secret)) {
		t.Fatalf("token list: %d %q", code, out)
	}
	if code, out, _ := run(t, "token", "revoke", "1"); code != 0 || !strings.Contains(out, "token 1 revoked") {
		t.Fatalf("token revoke: %d %q", code, out)
	}
	if code, out, _ := run(t, "token", "list"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("token list after revoke: %d %q", code, out)
	}
	if code, _, errOut := run(t, "token", "revoke", "1"); code == 0 || !strings.Contains(errOut, "no such active token") {
		t.Fatalf("revoking twice: %d %q", code, errOut)
	}

	// A bulk check of a CSV file writes one verdict per line.
	in := filepath.Join(dir, "list.csv")
	os.WriteFile(in, []byte("email\nnobody@example.com\nbroken\n"), 0o600)
	outFile := filepath.Join(dir, "verdicts.csv")
	if code, _, errOut := run(t, "check", "--purpose", "e_marketing", "--out", outFile, in); code != 0 || !strings.Contains(errOut, "2 checked, 0 allowed, 2 denied") {
		t.Fatalf("check: %d %q", code, errOut)
	}
	got, _ := os.ReadFile(outFile)
	if string(got) != "ref,person_id,allowed,reason\nnobody@example.com,,false,unknown\nbroken,,false,invalid\n" {
		t.Fatalf("verdicts:\n%s", got)
	}
	if code, _, errOut := run(t, "check", "--purpose", "nope", in); code == 0 || !strings.Contains(errOut, `no purpose "nope"`) {
		t.Fatalf("unknown purpose: %d %q", code, errOut)
	}

	if code, out, _ := run(t, "audit", "verify"); code != 0 || !strings.Contains(out, "audit chain OK") {
		t.Fatalf("audit verify: %d %q", code, out)
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	if code, out, errOut := run(t, "backup", "--out", backup); code != 0 || !strings.Contains(out, "backup written") {
		t.Fatalf("backup: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := run(t, "backup", "--out", backup); code == 0 || !strings.Contains(errOut, "exists already") {
		t.Fatalf("backup over an existing file: %d %q", code, errOut)
	}

	// Tampering makes audit verify fail with exit code 2 and name the event.
	db, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(`UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 3`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// The report names the failure once; no empty "consento: " line follows.
	for _, args := range [][]string{{"audit", "verify"}, {"audit", "verify", "--json"}} {
		code, out, errOut := run(t, args...)
		if code != 2 || !strings.Contains(out, "BROKEN at event 3") && !strings.Contains(out, `"first_bad_seq": 3`) {
			t.Fatalf("%v after tampering: %d %q", args, code, out)
		}
		if errOut != "" {
			t.Errorf("%v after tampering: stderr %q, want nothing beyond the report", args, errOut)
		}
	}
}
