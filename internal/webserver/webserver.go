// Package webserver builds Consento's HTTP server with the limits every
// request lives under: how long its header and body may take to arrive,
// how fast an upload and a download must keep moving, and how large the
// header may be. A client that sends or reads too slowly is cut off
// instead of holding a connection open; the answers the server gives for
// its own limits are problem+json (RFC 9457) under /api/ like every other
// API answer, and a short plain text elsewhere.
package webserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/consento/consento/internal/api"
)

// Limits are the server's limits; zero fields take the defaults.
type Limits struct {
	// Header is how long the request line and header may take (10 s).
	Header time.Duration
	// Idle is how long a kept-alive connection may wait for its next
	// request (2 min).
	Idle time.Duration
	// Body is how long, in all, a request body may take to arrive on every
	// route that is not an upload (30 s): a login, a form, a JSON call.
	Body time.Duration
	// UploadWindow and UploadBytes are the pace an upload must keep: at
	// least UploadBytes must arrive within every UploadWindow (64 KiB in
	// 30 s, about 2 KiB/s); an upload that keeps moving may take as long
	// as it needs.
	UploadWindow time.Duration
	UploadBytes  int
	// WriteWindow is how long one piece of an answer (at most 64 KiB) may
	// take to leave: a download must keep moving, at about 2 KiB/s (30 s).
	WriteWindow time.Duration
	// MaxHeader is the most bytes of request line and header fields a
	// request may have (64 KiB). Larger ones are answered 431 by this
	// package up to HardMaxHeader (256 KiB), beyond which net/http closes
	// the connection with its own plain 431.
	MaxHeader, HardMaxHeader int
}

// Defaults are the limits Consento serves with.
var Defaults = Limits{Header: 10 * time.Second, Idle: 2 * time.Minute, Body: 30 * time.Second, UploadWindow: 30 * time.Second, UploadBytes: 64 << 10,
	WriteWindow: 30 * time.Second, MaxHeader: 64 << 10, HardMaxHeader: 256 << 10}

func (l Limits) withDefaults() Limits {
	d := Defaults
	pick := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	pick(&l.Header, d.Header)
	pick(&l.Idle, d.Idle)
	pick(&l.Body, d.Body)
	pick(&l.UploadWindow, d.UploadWindow)
	pick(&l.WriteWindow, d.WriteWindow)
	if l.UploadBytes <= 0 {
		l.UploadBytes = d.UploadBytes
	}
	if l.MaxHeader <= 0 {
		l.MaxHeader = d.MaxHeader
	}
	if l.HardMaxHeader < l.MaxHeader {
		l.HardMaxHeader = max(d.HardMaxHeader, 4*l.MaxHeader)
	}
	return l
}

// New returns a server for h under the limits. uploads are the route
// patterns ("POST /lists/check") whose bodies are uploads: they must keep
// the upload pace instead of arriving within Body.
func New(h http.Handler, uploads []string, l Limits) *http.Server {
	l = l.withDefaults()
	g := &guard{next: h, l: l, uploads: http.NewServeMux()}
	mark := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, p := range uploads {
		g.uploads.Handle(p, mark)
	}
	return &http.Server{Handler: g, ReadHeaderTimeout: l.Header, IdleTimeout: l.Idle, MaxHeaderBytes: l.HardMaxHeader}
}

// guard applies the limits to each request.
type guard struct {
	next    http.Handler
	l       Limits
	uploads *http.ServeMux
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n := headerSize(r); n > g.l.MaxHeader {
		w.Header().Set("Connection", "close")
		answer(w, r, http.StatusRequestHeaderFieldsTooLarge, "header-too-large", "Request header fields too large",
			fmt.Sprintf("the request line and header fields must be at most %d bytes", g.l.MaxHeader))
		return
	}
	rc := http.NewResponseController(w)
	gw := &writer{ResponseWriter: w, rc: rc, window: g.l.WriteWindow, r: r}
	if r.Body != nil && r.Body != http.NoBody {
		b := &body{ReadCloser: r.Body, rc: rc, budget: g.l.Body, w: gw}
		if _, pattern := g.uploads.Handler(r); pattern != "" {
			b.budget, b.every = g.l.UploadWindow, g.l.UploadBytes
		}
		r.Body = b
	}
	defer func() {
		// What the handler left in the buffer must leave at the same pace.
		_ = rc.SetWriteDeadline(time.Now().Add(g.l.WriteWindow))
	}()
	g.next.ServeHTTP(gw, r)
}

// headerSize is about the number of bytes the request line and header
// fields took on the wire.
func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// answer is the server's own answer: problem+json under /api/, a short
// text elsewhere.
func answer(w http.ResponseWriter, r *http.Request, status int, code, title, detail string) {
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Cache-Control", "no-store")
		api.WriteProblem(w, r, status, code, title, detail)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%s: %s\n", title, detail)
}

// ErrSlowBody is what reading a body answers when the client sent it too
// slowly; the request is then answered 408.
var ErrSlowBody = errors.New("webserver: the request body arrived too slowly")

// body holds a request body to its time: budget is the time its reads may
// wait, in all (every == 0) or until every more bytes have arrived. Only
// time spent waiting for the client counts, not the handler's own work
// between reads.
type body struct {
	io.ReadCloser
	rc     *http.ResponseController
	w      *writer
	budget time.Duration
	every  int

	waited time.Duration
	moved  int
	err    error
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	left := b.budget - b.waited
	if left <= 0 {
		return 0, b.slow()
	}
	start := time.Now()
	_ = b.rc.SetReadDeadline(start.Add(left))
	n, err := b.ReadCloser.Read(p)
	b.waited += time.Since(start)
	if b.every > 0 {
		if b.moved += n; b.moved >= b.every {
			b.moved, b.waited = 0, 0
		}
	}
	switch {
	case err == io.EOF:
		// The body is in: net/http now watches the connection for the
		// client going away, which no deadline may cut short.
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		return n, b.slow()
	}
	return n, err
}

func (b *body) slow() error {
	b.err = ErrSlowBody
	b.w.timedOut()
	return b.err
}

// writer keeps the answer moving: each piece of at most 64 KiB gets
// WriteWindow to leave. After a body came too slowly, it answers 408 in
// place of what the handler writes (unless the handler had answered
// already: a streamed answer just ends).
type writer struct {
	http.ResponseWriter
	rc     *http.ResponseController
	r      *http.Request
	window time.Duration

	mu       sync.Mutex
	extended time.Time
	wrote    bool // the handler's header went out
	late     bool // the body timed out: the 408 replaces the handler's answer
}

func (w *writer) timedOut() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wrote || w.late {
		return
	}
	w.late = true
	w.ResponseWriter.Header().Set("Connection", "close")
	answer(w.ResponseWriter, w.r, http.StatusRequestTimeout, "request-timeout", "Request timeout", "the request body arrived too slowly")
}

// replaced reports whether the handler's answer is dropped; otherwise
// the header counts as written.
func (w *writer) replaced() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.wrote = w.wrote || !w.late
	return w.late
}

func (w *writer) extend() {
	now := time.Now()
	if now.Sub(w.extended) < time.Second {
		return
	}
	w.extended = now
	_ = w.rc.SetWriteDeadline(now.Add(w.window))
}

func (w *writer) WriteHeader(code int) {
	if w.replaced() {
		return
	}
	w.extend()
	w.ResponseWriter.WriteHeader(code)
}

func (w *writer) Write(p []byte) (int, error) {
	if w.replaced() {
		return len(p), nil
	}
	done := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), 64<<10)]
		w.extend()
		n, err := w.ResponseWriter.Write(chunk)
		done += n
		if err != nil {
			return done, err
		}
		p = p[n:]
	}
	return done, nil
}

func (w *writer) Flush() {
	if w.replaced() {
		return
	}
	w.extend()
	_ = w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
