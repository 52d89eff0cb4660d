package auth_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/store"
	"github.com/consento/consento/internal/storetest"
)

// 200 simultaneous logins, each for another account from another address
// so that no limit refuses them before hashing, grow the server by less
// than 300 MB: the argon2id work (64 MiB a hash) waits for its slots.
// Before, 30 such logins grew the server from 229 MB to 1.96 GB.
//
// The logins run in a child process (this test binary again), so its peak
// resident size is its own and not that of the tests before it.
func TestSimultaneousLoginsStayWithinMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory doubles every allocation; run without -race")
	}
	storetest.Engines(t, func(t *testing.T, e storetest.Engine) {
		ctx := context.Background()
		opts := storetest.Options(t, e)
		db, err := store.Open(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := auth.New(db).CreateUser(ctx, audit.System, "user7@example.com", "Seven", auth.RoleStaff, goodPassword); err != nil {
			t.Fatal(err)
		}
		db.Close()
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoginMemoryChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CONSENTO_LOGIN_MEMORY_CHILD=1", "CONSENTO_CHILD_DATABASE_URL="+opts.DatabaseURL, "CONSENTO_CHILD_DATA_DIR="+opts.DataDir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		var r memoryReport
		for line := range strings.SplitSeq(string(out), "\n") {
			if j, ok := strings.CutPrefix(line, "REPORT "); ok {
				if err := json.Unmarshal([]byte(j), &r); err != nil {
					t.Fatal(err)
				}
			}
		}
		if r.Logins != 200 {
			t.Fatalf("child reported no result:\n%s", out)
		}
		t.Logf("idle %d MB, peak %d MB; %d checked, %d answered 'try again'", r.IdleKB>>10, r.PeakKB>>10, r.Checked, r.Throttled)
		if grow := (r.PeakKB - r.IdleKB) >> 10; grow >= 300 {
			t.Fatalf("200 simultaneous logins grew the server by %d MB (idle %d MB, peak %d MB)", grow, r.IdleKB>>10, r.PeakKB>>10)
		}
		if r.Checked == 0 || r.Checked+r.Throttled != r.Logins || r.Succeeded > 1 {
			t.Fatalf("logins checked and refused do not add up: %+v", r)
		}
	})
}

type memoryReport struct {
	Logins, Checked, Throttled, Succeeded int
	IdleKB, PeakKB                        int64
}

// TestLoginMemoryChild is the child of TestSimultaneousLoginsStayWithinMemory.
func TestLoginMemoryChild(t *testing.T) {
	if os.Getenv("CONSENTO_LOGIN_MEMORY_CHILD") == "" {
		t.Skip("run by TestSimultaneousLoginsStayWithinMemory")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{DatabaseURL: os.Getenv("CONSENTO_CHILD_DATABASE_URL"), DataDir: os.Getenv("CONSENTO_CHILD_DATA_DIR")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := auth.New(db)
	// Warm up (the database, the dummy hash), then settle and measure.
	if _, err := a.Authenticate(ctx, "warm@example.com", "x", "192.0.2.1"); !errors.Is(err, auth.ErrBadLogin) {
		t.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident size: %v", err)
	}
	r := memoryReport{Logins: 200, IdleKB: procStatus(t, "VmRSS")}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range r.Logins {
		wg.Go(func() {
			<-start
			pw := "a wrong password"
			if i == 7 {
				pw = goodPassword
			}
			_, err := a.Authenticate(ctx, fmt.Sprintf("user%d@example.com", i), pw, fmt.Sprintf("198.51.100.%d", i%250+1))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				r.Succeeded++
				r.Checked++
			case errors.Is(err, auth.ErrBadLogin):
				r.Checked++
			case errors.Is(err, auth.ErrThrottled):
				r.Throttled++
			default:
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	r.PeakKB = procStatus(t, "VmHWM")
	j, _ := json.Marshal(r)
	fmt.Printf("REPORT %s\n", j)
}

func procStatus(t *testing.T, field string) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
