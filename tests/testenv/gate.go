package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Gate holds an action's work in flight until the test lets it go, so that a
// test asserts the order of events (the response came while the work was
// still held; done came after the gate opened) instead of racing a timer
// that a busy machine can outrun.
//
// Each gate is a path of a small HTTP server: the action's work sends a GET
// to URL(name) and the request is held until Open(name), then answered 200.
// The fixture action (tests/testaction) and the examples that work after
// their response take that URL as their "gate" parameter.
//
// Every arrival, opening and test Mark is appended to one log, so a test
// can check the order in which they happened.
type Gate struct {
	base   string
	closed chan struct{} // closed when the test ends: held requests return 503

	mu      sync.Mutex
	events  []string
	arrived map[string]chan struct{} // closed at the first arrival
	opened  map[string]chan struct{} // closed by Open
	count   map[string]int           // arrivals so far
}

// Gate events, as Events lists them: "arrive NAME", "open NAME", or the
// text of a Mark.
const (
	GateArrive = "arrive "
	GateOpen   = "open "
)

// NewGate serves gates on a free loopback port until the test ends.
func NewGate(t testing.TB) *Gate {
	t.Helper()
	return NewGateOn(t, "127.0.0.1")
}

// NewGateOn serves gates on host, e.g. the Docker bridge's gateway address
// so that containers reach them (docker.Gateway).
func NewGateOn(t testing.TB, host string) *Gate {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatalf("gate: listen on %s: %v", host, err)
	}
	g := &Gate{
		base:    "http://" + ln.Addr().String(),
		closed:  make(chan struct{}),
		arrived: map[string]chan struct{}{},
		opened:  map[string]chan struct{}{},
		count:   map[string]int{},
	}
	srv := &http.Server{Handler: http.HandlerFunc(g.serve), ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		close(g.closed) // release held requests first, or Close waits for them
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return g
}

// URL is the address the work blocks on for the gate called name (a path
// segment: letters, digits, '-', '_', '.').
func (g *Gate) URL(name string) string { return g.base + "/" + url.PathEscape(name) }

// chans returns (creating them) the channels of gate name; g.mu is held.
func (g *Gate) chans(name string) (arrived, opened chan struct{}) {
	if g.arrived[name] == nil {
		g.arrived[name] = make(chan struct{})
		g.opened[name] = make(chan struct{})
	}
	return g.arrived[name], g.opened[name]
}

func (g *Gate) serve(w http.ResponseWriter, r *http.Request) {
	name, err := url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/"))
	if err != nil || name == "" {
		http.Error(w, "gate: GET /NAME", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	arrived, opened := g.chans(name)
	g.events = append(g.events, GateArrive+name)
	if g.count[name]++; g.count[name] == 1 {
		close(arrived)
	}
	g.mu.Unlock()
	select {
	case <-opened:
		_, _ = fmt.Fprintln(w, "open")
	case <-r.Context().Done():
	case <-g.closed:
		http.Error(w, "gate: the test ended", http.StatusServiceUnavailable)
	}
}

// Open lets every held and later request of gate name through.
func (g *Gate) Open(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, opened := g.chans(name)
	select {
	case <-opened:
		return // already open
	default:
	}
	g.events = append(g.events, GateOpen+name)
	close(opened)
}

// Mark appends the test's own event to the log, e.g. "response".
func (g *Gate) Mark(event string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.events = append(g.events, event)
}

// Events returns the log so far, in order.
func (g *Gate) Events() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.events...)
}

// Arrivals is how many requests gate name has received.
func (g *Gate) Arrivals(name string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.count[name]
}

// Arrived is closed when gate name receives its first request.
func (g *Gate) Arrived(name string) <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	arrived, _ := g.chans(name)
	return arrived
}

// WaitArrived fails the test unless gate name receives a request within
// bound: the work it holds has started.
func (g *Gate) WaitArrived(t testing.TB, name string, bound time.Duration) {
	t.Helper()
	select {
	case <-g.Arrived(name):
	case <-time.After(bound):
		t.Fatalf("no request reached gate %q within %s; events: %q", name, bound, g.Events())
	}
}
