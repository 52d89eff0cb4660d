package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consento/consento/internal/secrets"
)

func TestMasterKeyAndRotationCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONSENTO_DATA_DIR", dir)
	// The quick start generates the master key beside the database,
	// readable by the owner only, and logs where (never the key).
	code, _, migrateLog := run(t, "migrate")
	if code != 0 {
		t.Fatalf("migrate: %d %q", code, migrateLog)
	}
	code, out, errOut := run(t, "bench", "rotate", "--values", "3000", "--batch", "500")
	if code != 0 || !strings.Contains(out, "rotate (sqlite): 3000 values re-encrypted") || !strings.Contains(out, "0 values left under old keys") {
		t.Fatalf("bench rotate: %d %q %q", code, out, errOut)
	}
	keyFile := filepath.Join(dir, secrets.MasterKeyFile)
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", err, st)
	}
	key, _ := os.ReadFile(keyFile)
	if !strings.Contains(migrateLog, "master key for sensitive fields created") || strings.Contains(migrateLog+errOut+out, strings.TrimSpace(string(key))) {
		t.Fatalf("creation log: %q", migrateLog)
	}
	if code, out, errOut := run(t, "keys", "rotate"); code != 0 || !strings.Contains(out, "New primary key") || !strings.Contains(out, "Done: 3000 values re-encrypted") {
		t.Fatalf("keys rotate: %d %q %q", code, out, errOut)
	}
	code, out, _ = run(t, "keys", "status")
	if code != 0 || !strings.Contains(out, "3000 sensitive values, 0 not under the primary key") || strings.Count(out, " key ") != 3 || strings.Count(out, "*") != 1 {
		t.Fatalf("keys status: %d %q", code, out)
	}
	if code, out, _ := run(t, "keys", "rotate", "--resume"); code != 0 || !strings.Contains(out, "Done: 0 values") {
		t.Fatalf("resume with nothing open: %d %q", code, out)
	}

	// Another master key does not open the keysets; a lost key file is
	// not silently replaced.
	if code, _, errOut := run(t, "--master-key", secrets.NewMasterKey(), "keys", "status"); code == 0 || !strings.Contains(errOut, "master key does not open") {
		t.Fatalf("wrong master key: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "--master-key", "c2hvcnQ=", "keys", "status"); code == 0 || !strings.Contains(errOut, "32 bytes") {
		t.Fatalf("short master key: %d %q", code, errOut)
	}
	os.Rename(keyFile, keyFile+".bak")
	if code, _, errOut := run(t, "keys", "status"); code == 0 || !strings.Contains(errOut, "master key file") || !strings.Contains(errOut, "missing") {
		t.Fatalf("lost key file: %d %q", code, errOut)
	}
	if _, err := os.Stat(keyFile); err == nil {
		t.Fatal("a new master key file was made over the lost one")
	}
	// Given through the environment it works without the file.
	t.Setenv("CONSENTO_MASTER_KEY", strings.TrimSpace(string(key)))
	if code, out, errOut := run(t, "keys", "status"); code != 0 || !strings.Contains(out, "3000 sensitive values") {
		t.Fatalf("key from the environment: %d %q %q", code, out, errOut)
	}
}
