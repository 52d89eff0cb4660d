package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consento/consento/internal/api"
	"github.com/consento/consento/internal/audit"
	"github.com/consento/consento/internal/auth"
	"github.com/consento/consento/internal/ledger"
	"github.com/consento/consento/internal/receipt"
	"github.com/consento/consento/internal/storetest"
	"github.com/consento/consento/internal/ui"
	"github.com/consento/consento/internal/webserver"
)

// testLimits are the server's limits made short, so that a test can wait
// them out: a body has a second, an upload must bring 32 KiB a second.
var testLimits = webserver.Limits{Body: time.Second, UploadWindow: time.Second, UploadBytes: 32 << 10, WriteWindow: 2 * time.Second}

// liveServer runs the API and the staff UI as consento serve does, on a
// real listener, and returns its address and an API token.
func liveServer(t *testing.T, eng storetest.Engine, l webserver.Limits) (addr, token string) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, eng)
	led := ledger.New(db)
	if err := led.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	a := auth.New(db)
	signer, err := receipt.Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.New(db, led, a, signer, receipt.Controller{Name: "Test", Issuer: "http://test"}, quiet)
	staff, err := ui.New(led, a, quiet, false)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err = a.CreateToken(ctx, audit.System, "test", auth.Scopes, 0)
	if err != nil {
		t.Fatal(err)
	}
	hs := webserver.New(routes(srv, staff), uploadRoutes, l)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String(), token
}

// trickle opens a raw connection, sends head and then the body one byte
// every interval, and returns what the server answered (with the time it
// took) once it answers or closes.
func trickle(t *testing.T, addr, head string, body []byte, every time.Duration) (string, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for _, b := range body {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "closed: " + err.Error(), time.Since(start)
	}
	b, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d %s\n%s", res.StatusCode, res.Header.Get("Content-Type"), b), time.Since(start)
}

// A login whose body comes one byte at a time is cut off when its body
// time is up, with a 408, not kept open; an API call's the same, with
// problem+json.
func TestSlowBodyIsCutOff(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		addr, token := liveServer(t, eng, testLimits)
		form := []byte("email=anna%40example.com&password=correct-horse-battery-staple")
		head := fmt.Sprintf("POST /login HTTP/1.1\r\nHost: consento.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", len(form))
		got, took := trickle(t, addr, head, form, 200*time.Millisecond)
		// The body would take 13 s; its time is 1 s.
		if !strings.HasPrefix(got, "408 text/plain") || took > 4*time.Second {
			t.Fatalf("slow login body: after %v:\n%s", took, got)
		}
		body := []byte(`{"email":"anna@example.com","first_name":"Anna"}`)
		head = fmt.Sprintf("POST /api/v1/persons HTTP/1.1\r\nHost: consento.test\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", token, len(body))
		got, took = trickle(t, addr, head, body, 200*time.Millisecond)
		if !strings.HasPrefix(got, "408 application/problem+json") || !strings.Contains(got, `"type":"https://consento.dev/problems/request-timeout"`) || took > 4*time.Second {
			t.Fatalf("slow API body: after %v:\n%s", took, got)
		}
	})
}

// pacer is an upload body that sends size bytes of CSV lines in pieces,
// one piece per tick, and then stalls for good when stall is set.
type pacer struct {
	lines      []byte
	piece      int
	tick       *time.Ticker
	sent, size int
	stall      bool
	stop       chan struct{}
	once       sync.Once
}

// Close ends a stall: the client gave up.
func (p *pacer) Close() error {
	p.once.Do(func() { close(p.stop) })
	return nil
}

func (p *pacer) Read(b []byte) (int, error) {
	if p.sent >= p.size {
		if p.stall { // until the client gives up, or for 15 s at most
			select {
			case <-p.stop:
			case <-time.After(15 * time.Second):
			}
		}
		return 0, io.EOF
	}
	if p.sent > 0 {
		select {
		case <-p.tick.C:
		case <-p.stop:
			return 0, io.ErrClosedPipe
		}
	}
	n := min(len(b), p.piece, p.size-p.sent)
	for i := range n {
		b[i] = p.lines[(p.sent+i)%len(p.lines)]
	}
	p.sent += n
	return n, nil
}

func newPacer(size, piece int, every time.Duration, stall bool) *pacer {
	var lines []byte
	for i := range 1000 {
		lines = append(lines, fmt.Sprintf("person%04d@example.com\n", i)...)
	}
	return &pacer{lines: lines, piece: piece, tick: time.NewTicker(every), size: size, stall: stall, stop: make(chan struct{})}
}

// A list check upload that keeps moving may take far longer than a body's
// time; one that stalls is cut off within the upload window.
func TestUploadMustKeepMoving(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		addr, token := liveServer(t, eng, testLimits)
		check := func(p *pacer) (*http.Response, string, time.Duration, error) {
			defer p.Close()
			defer p.tick.Stop()
			req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/consent-checks?purpose=e_marketing", p)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "text/csv")
			req.Header.Set("Accept", "text/csv")
			start := time.Now()
			res, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
			if err != nil {
				return nil, "", time.Since(start), err
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			return res, string(b), time.Since(start), err
		}
		// 1 MiB in 64 KiB pieces, ten a second: 1.6 s, past the 1 s a
		// body may take, but never less than 32 KiB in a second.
		res, out, took, err := check(newPacer(1<<20, 64<<10, 100*time.Millisecond, false))
		if err != nil || res.StatusCode != 200 || took < time.Second {
			t.Fatalf("moving upload: %v after %v", err, took)
		}
		if lines := strings.Count(out, "\n"); lines < 40000 || res.Trailer.Get("Consento-Error") != "" {
			t.Fatalf("moving upload: %d verdicts, trailer %v", lines, res.Trailer)
		}
		// 64 KiB, then nothing.
		res, out, took, err = check(newPacer(64<<10, 64<<10, 100*time.Millisecond, true))
		if took > 5*time.Second {
			t.Fatalf("a stalled upload was held %v", took)
		}
		if err == nil && res.StatusCode == 200 && res.Trailer.Get("Consento-Error") == "" {
			t.Fatalf("a stalled upload was answered as complete: %d verdicts", strings.Count(out, "\n"))
		}
	})
}

// Too large a header gets 431 as problem+json on the API and as text
// elsewhere; the server's own 404 and 405 on the API are problem+json too.
func TestServerAnswersOnTheAPIAreProblems(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, eng storetest.Engine) {
		addr, token := liveServer(t, eng, webserver.Defaults)
		get := func(method, path string, header ...string) (*http.Response, api.Problem) {
			req, _ := http.NewRequest(method, "http://"+addr+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var p api.Problem
			b, _ := io.ReadAll(res.Body)
			json.Unmarshal(b, &p)
			return res, p
		}
		huge := strings.Repeat("a", 100<<10)
		res, p := get("GET", "/api/v1/persons", "X-Huge", huge)
		if res.StatusCode != 431 || res.Header.Get("Content-Type") != "application/problem+json" || p.Type != api.ProblemBase+"header-too-large" || p.Status != 431 {
			t.Fatalf("huge header on the API: %d %q %+v", res.StatusCode, res.Header.Get("Content-Type"), p)
		}
		if res, _ := get("GET", "/login", "X-Huge", huge); res.StatusCode != 431 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("huge header on a page: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if res, _ := get("GET", "/api/v1/persons", "X-Fine", strings.Repeat("a", 8<<10)); res.StatusCode != 200 {
			t.Fatalf("an 8 KiB header: %d", res.StatusCode)
		}
		for _, c := range []struct {
			method, path string
			status       int
		}{{"DELETE", "/api/v1/persons", 405}, {"GET", "/api/v1/nothing", 404}, {"GET", "/api", 404}} {
			res, p := get(c.method, c.path)
			if res.StatusCode != c.status || res.Header.Get("Content-Type") != "application/problem+json" || p.Status != c.status {
				t.Errorf("%s %s: %d %q", c.method, c.path, res.StatusCode, res.Header.Get("Content-Type"))
			}
		}
	})
}

// Every upload route is a route the API or the staff UI serves.
func TestUploadRoutesExist(t *testing.T) {
	db := storetest.Open(t, storetest.SQLite)
	led := ledger.New(db)
	a := auth.New(db)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	signer, err := receipt.Load(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	patterns := api.New(db, led, a, signer, receipt.Controller{}, quiet).Patterns()
	staff, err := ui.New(led, a, quiet, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range staff.Routes() {
		patterns = append(patterns, r.Pattern)
	}
	for _, u := range uploadRoutes {
		if !slices.Contains(patterns, u) {
			t.Errorf("upload route %q is not served", u)
		}
	}
}
