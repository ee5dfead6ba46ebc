package invokershim_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// gates serves the gate action's gates (testdata/gateaction) on the
// bridge's gateway, where its containers reach this process. A gated
// activation's work is a GET of its gate, answered only once the test opens
// it: the work is pending, by construction, until then.
type gates struct {
	base string
	mu   sync.Mutex
	m    map[string]*gate // guarded by mu
}

type gate struct {
	arrived  chan struct{} // closed once the work reached the gate
	open     chan struct{} // closed when the test opens it
	arriveMu sync.Once
	openMu   sync.Once
}

func newGates(t *testing.T, e env) *gates {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(e.gw, "0"))
	require.NoError(t, err)
	g := &gates{base: "http://" + ln.Addr().String() + "/gate/", m: map[string]*gate{}}
	srv := &http.Server{ReadHeaderTimeout: stateBound, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gt := g.get(strings.TrimPrefix(r.URL.Path, "/gate/"))
		gt.arriveMu.Do(func() { close(gt.arrived) })
		select {
		case <-gt.open:
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
		}
	})}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("the gates' server: %v", err)
		}
	}()
	t.Cleanup(func() {
		g.mu.Lock()
		for _, gt := range g.m {
			gt.openMu.Do(func() { close(gt.open) })
		}
		g.mu.Unlock()
		_ = srv.Close()
	})
	return g
}

func (g *gates) get(name string) *gate {
	g.mu.Lock()
	defer g.mu.Unlock()
	gt := g.m[name]
	if gt == nil {
		gt = &gate{arrived: make(chan struct{}), open: make(chan struct{})}
		g.m[name] = gt
	}
	return gt
}

func (g *gates) url(name string) string { return g.base + name }

// openGate lets the work held on gate name finish.
func (g *gates) openGate(name string) {
	gt := g.get(name)
	gt.openMu.Do(func() { close(gt.open) })
}

// isOpen reports whether the test has opened gate name.
func (g *gates) isOpen(name string) bool {
	select {
	case <-g.get(name).open:
		return true
	default:
		return false
	}
}

// waitArrived waits until the work of gate name holds on it.
func (g *gates) waitArrived(t *testing.T, name string) {
	t.Helper()
	select {
	case <-g.get(name).arrived:
	case <-time.After(cliBound):
		t.Fatalf("the gated work did not reach gate %s within %s", name, cliBound)
	}
}
