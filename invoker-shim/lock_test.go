package invokershim

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/reclaim"
)

// These tests put stand-ins where the shim does I/O (the runtime's status,
// the daemon) and hold that I/O for as long as a case needs: an I/O the
// shim did under a lock would then hold up another call, and the order in
// which the calls finish shows it. Every wait is bounded by bound.
const bound = time.Minute // far above a loaded machine; a passing test never waits on it

// standIn is a container's runtime: Status answers idle, or busy for the
// first busy calls, and holds the first hold calls (whatever their
// context says, as a hung runtime would) until release is closed.
type standIn struct {
	mu         sync.Mutex
	hold, busy int           // guarded by mu
	asked      chan struct{} // a held Status call has arrived
	release    chan struct{}
	once       sync.Once
}

func newStandIn(hold, busy int) *standIn {
	return &standIn{hold: hold, busy: busy, asked: make(chan struct{}, 8), release: make(chan struct{})}
}

func (r *standIn) free() { r.once.Do(func() { close(r.release) }) }

func (r *standIn) Status(context.Context) (completion.Snapshot, error) {
	r.mu.Lock()
	hold, busy := r.hold > 0, r.busy > 0
	r.hold, r.busy = max(r.hold-1, 0), max(r.busy-1, 0)
	r.mu.Unlock()
	if hold {
		r.asked <- struct{}{}
		<-r.release
	}
	now := time.Now()
	if busy {
		return completion.Snapshot{State: completion.StateLingering, Time: now, Activations: []completion.Activation{
			{ID: "a1", Phase: completion.PhaseResponded, Start: now.Add(-time.Second), Deadline: now.Add(time.Minute), SinceResponseMs: 10},
		}}, nil
	}
	return completion.Snapshot{State: completion.StateIdle, Time: now}, nil
}

func (r *standIn) AwaitQuiescent(ctx context.Context, _ time.Duration) (completion.Snapshot, error) {
	return r.Status(ctx)
}

// fakeDaemon is the Docker daemon: the typed calls the shim makes, and
// the HTTP API the invoker's forwarded calls reach. It records, in order,
// every call that changed a container.
type fakeDaemon struct {
	mu         sync.Mutex
	paused     map[string]bool  // guarded by mu; by id, for the containers that exist
	calls      []string         // guarded by mu
	inspects   int              // guarded by mu
	fail       map[string]error // typed calls that fail, by operation
	block      map[string]chan struct{}
	blocked    chan string // a blocked typed call has arrived
	unblockAll sync.Once
}

func newFakeDaemon(ids ...string) *fakeDaemon {
	d := &fakeDaemon{paused: map[string]bool{}, fail: map[string]error{}, block: map[string]chan struct{}{}, blocked: make(chan string, 8)}
	for _, id := range ids {
		d.paused[id] = false
	}
	return d
}

// holdTyped makes the typed call op wait until unblock.
func (d *fakeDaemon) holdTyped(op string) { d.block[op] = make(chan struct{}) }

func (d *fakeDaemon) unblock() {
	d.unblockAll.Do(func() {
		for _, ch := range d.block {
			close(ch)
		}
	})
}

func (d *fakeDaemon) inspected() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inspects
}

func (d *fakeDaemon) recorded() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// apply changes container id as op does, as the daemon would answer it.
func (d *fakeDaemon) apply(op, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	paused, ok := d.paused[id]
	switch {
	case !ok:
		return cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	case op == "pause" && paused:
		return cerrdefs.ErrConflict.WithMessage("Container " + id + " is already paused")
	case op == "unpause" && !paused:
		return cerrdefs.ErrConflict.WithMessage("Container " + id + " is not paused")
	case op == "remove":
		delete(d.paused, id)
	default:
		d.paused[id] = op == "pause"
	}
	d.calls = append(d.calls, op+" "+id)
	return nil
}

func (d *fakeDaemon) typed(op, id string) error {
	if ch := d.block[op]; ch != nil {
		d.blocked <- op
		<-ch
	}
	if err := d.fail[op]; err != nil {
		return err
	}
	return d.apply(op, id)
}

func (d *fakeDaemon) ContainerPause(_ context.Context, id string) error { return d.typed("pause", id) }
func (d *fakeDaemon) ContainerKill(_ context.Context, id, _ string) error {
	return d.typed("kill", id)
}
func (d *fakeDaemon) ContainerStop(_ context.Context, id string, _ container.StopOptions) error {
	return d.typed("stop", id)
}
func (d *fakeDaemon) ContainerRemove(_ context.Context, id string, _ container.RemoveOptions) error {
	return d.typed("remove", id)
}

func (d *fakeDaemon) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inspects++
	paused, ok := d.paused[id]
	if !ok {
		return container.InspectResponse{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	}
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{ID: id, Name: "/" + id, State: &container.State{Running: true, Paused: paused}},
		Config:            &container.Config{Image: "epilogue/action-go:latest"},
	}, nil
}

func (d *fakeDaemon) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	return nil, nil
}
func (d *fakeDaemon) Ping(context.Context) (types.Ping, error) { return types.Ping{}, nil }
func (d *fakeDaemon) NegotiateAPIVersionPing(types.Ping)       {}
func (d *fakeDaemon) Close() error                             { return nil }

// ServeHTTP is the daemon's API for the forwarded calls.
func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(unversioned(r.URL.Path), "/"), "/")
	op, id := "", ""
	switch {
	case r.Method == http.MethodDelete && len(segs) == 2:
		op, id = "remove", segs[1]
	case r.Method == http.MethodPost && len(segs) == 3:
		op, id = segs[2], segs[1]
	default:
		dockerError(w, http.StatusNotFound, "page not found")
		return
	}
	if err := d.apply(op, id); err != nil {
		status, msg := daemonAnswer(err)
		dockerError(w, status, msg)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// testShim is a Shim in front of d, whose runtime containers' runtimes are
// runtimes[id].
func testShim(t *testing.T, d *fakeDaemon, runtimes map[string]*standIn) *Shim {
	t.Helper()
	api := httptest.NewServer(d)
	dir := t.TempDir()
	s, err := New(Config{
		Listen: []string{"unix://" + filepath.Join(dir, "docker.sock")}, Docker: "tcp://" + api.Listener.Addr().String(),
		JournalDir: filepath.Join(dir, "journal"), HoldTimeout: bound, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	_ = s.daemon.Close()
	s.daemon = d
	s.runtimeSource = func(info container.InspectResponse) reclaim.Source { return runtimes[info.ID] }
	t.Cleanup(func() {
		for _, r := range runtimes {
			r.free()
		}
		d.unblock()
		s.close()
		api.Close()
	})
	return s
}

// answer is a call's end: which call, and its status.
type answer struct {
	call   string
	status int
}

// send serves one invoker call ("METHOD /path"), as the docker CLI sends
// it, in the background; its answer goes to answers.
func send(s *Shim, answers chan<- answer, call string) {
	method, path, _ := strings.Cut(call, " ")
	go func() {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		answers <- answer{call, rec.Code}
	}()
}

// journalStates are the states of the journal's lines, in order.
func journalStates(t *testing.T, s *Shim) []journal.State {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.cfg.JournalDir, journal.FileName))
	require.NoError(t, err)
	var states []journal.State
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e journal.Entry
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		states = append(states, e.State)
	}
	return states
}

func next(t *testing.T, answers <-chan answer, why string) answer {
	t.Helper()
	select {
	case a := <-answers:
		return a
	case <-time.After(bound):
		t.Fatalf("no answer within %s: %s", bound, why)
		return answer{}
	}
}

func arrived(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(bound):
		t.Fatalf("%s did not arrive within %s", what, bound)
	}
}

// TestNoLockAcrossIO: a call on a container is never held up by another
// call's I/O: the runtime's status while a pause is decided, or the
// daemon while a deferred operation is sent. Each case holds that I/O
// until the other call has its answer, so a lock held across it would
// make the case time out; and what reaches the daemon is still in the
// order the calls' meaning needs.
func TestNoLockAcrossIO(t *testing.T) {
	const (
		pauseA   = "POST /v1.41/containers/A/pause"
		unpauseA = "POST /v1.41/containers/A/unpause"
		rmA      = "DELETE /v1.41/containers/A?force=1"
		pauseB   = "POST /v1.41/containers/B/pause"
	)
	tests := []struct {
		name string
		// a and b are the runtimes of containers A and B.
		a, b *standIn
		// holdTyped holds the daemon's typed call of this operation.
		holdTyped string
		// first is sent, then (once the held I/O has arrived) second.
		first, second string
		// wantFirst answers first, with its status, while first's I/O is
		// held; then first answers with its status.
		wantSecond, wantFirst int
		// wantCalls reach the daemon, in this order.
		wantCalls []string
		// journal says how the operations ended (the journal's states, in order).
		wantJournal []journal.State
	}{
		{
			name: "an unpause while the pause is being decided wins without waiting for the runtime",
			a:    newStandIn(1, 0), b: newStandIn(0, 0),
			first: pauseA, second: unpauseA,
			wantSecond: http.StatusNoContent, wantFirst: http.StatusNoContent,
			wantCalls: nil, // the pause is not done, so the unpause needs no daemon
		},
		{
			name: "another container's pause while a pause is being decided",
			a:    newStandIn(1, 0), b: newStandIn(0, 0),
			first: pauseA, second: pauseB,
			wantSecond: http.StatusNoContent, wantFirst: http.StatusNoContent,
			wantCalls: []string{"pause B", "pause A"},
		},
		{
			name: "a removal while the pause is being decided wins without waiting for it",
			a:    newStandIn(1, 0), b: newStandIn(0, 0),
			first: pauseA, second: rmA,
			wantSecond: http.StatusNoContent, wantFirst: http.StatusNoContent,
			wantCalls: []string{"remove A"}, // and no pause, before or after
		},
		{
			name: "an unpause while a held removal is being sent to the daemon",
			a:    newStandIn(0, 1), b: newStandIn(0, 0), holdTyped: "remove",
			first: rmA, second: unpauseA,
			wantSecond: http.StatusConflict, wantFirst: http.StatusNoContent, // A is not paused: the daemon says so
			wantCalls:   []string{"remove A"},
			wantJournal: []journal.State{journal.Deferred, journal.Applied},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon("A", "B")
			if tt.holdTyped != "" {
				d.holdTyped(tt.holdTyped)
			}
			s := testShim(t, d, map[string]*standIn{"A": tt.a, "B": tt.b})
			answers := make(chan answer, 2)

			send(s, answers, tt.first)
			if tt.holdTyped != "" {
				select {
				case <-d.blocked:
				case <-time.After(bound):
					t.Fatalf("the %s did not reach the daemon within %s", tt.holdTyped, bound)
				}
			} else {
				arrived(t, tt.a.asked, "the pause's status call")
			}
			send(s, answers, tt.second)
			got := next(t, answers, tt.second+" waits for "+tt.first+"'s I/O")
			assert.Equal(t, answer{tt.second, tt.wantSecond}, got, "the second call answers first, while the first's I/O is held")

			tt.a.free()
			d.unblock()
			assert.Equal(t, answer{tt.first, tt.wantFirst}, next(t, answers, tt.first+" after its I/O"))
			s.wg.Wait() // deferred operations end
			assert.Equal(t, tt.wantCalls, d.recorded())
			if tt.wantJournal != nil {
				assert.Equal(t, tt.wantJournal, journalStates(t, s))
			}
		})
	}
}

// TestUnpauseAfterTheRealPause: an unpause that arrives while a deferred
// pause is on its way to the daemon does not race it: it waits for the
// daemon's answer to the pause, unlocked, and then reaches the daemon, so
// the container ends unpaused.
func TestUnpauseAfterTheRealPause(t *testing.T) {
	d := newFakeDaemon("A")
	d.holdTyped("pause")
	a := newStandIn(0, 1)
	s := testShim(t, d, map[string]*standIn{"A": a})
	answers := make(chan answer, 2)

	send(s, answers, "POST /v1.41/containers/A/pause")
	require.Equal(t, answer{"POST /v1.41/containers/A/pause", http.StatusNoContent}, next(t, answers, "the deferred pause"))
	select {
	case <-d.blocked: // the runtime is done: the pause is being sent
	case <-time.After(bound):
		t.Fatalf("the deferred pause was not sent within %s", bound)
	}
	send(s, answers, "POST /v1.41/containers/A/unpause")
	d.unblock()
	assert.Equal(t, answer{"POST /v1.41/containers/A/unpause", http.StatusNoContent}, next(t, answers, "the unpause"))
	assert.Equal(t, []string{"pause A", "unpause A"}, d.recorded(), "the unpause reached the daemon after the pause")
	assert.Equal(t, []journal.State{journal.Deferred, journal.Applied}, journalStates(t, s))
}

// TestRuntimeCheckIsCached: the shim inspects a container once, whatever
// calls follow, until it is removed; then it asks again.
func TestRuntimeCheckIsCached(t *testing.T) {
	d := newFakeDaemon("A", "B")
	s := testShim(t, d, map[string]*standIn{"A": newStandIn(0, 0), "B": newStandIn(0, 0)})
	answers := make(chan answer, 1)
	for _, tt := range []struct {
		name, call   string
		wantStatus   int
		wantInspects int
	}{
		{"the first call inspects", "POST /v1.41/containers/A/pause", http.StatusNoContent, 1},
		{"an unpause with no pause owed, forwarded", "POST /v1.41/containers/A/unpause", http.StatusNoContent, 1},
		{"a second cycle: pause", "POST /v1.41/containers/A/pause", http.StatusNoContent, 1},
		{"a second cycle: unpause", "POST /v1.41/containers/A/unpause", http.StatusNoContent, 1},
		{"another container", "POST /v1.41/containers/B/kill", http.StatusNoContent, 2},
		{"a removal", "DELETE /v1.41/containers/A?force=1", http.StatusNoContent, 2},
		{"a removed container is asked about again", "POST /v1.41/containers/A/pause", http.StatusNotFound, 3},
		{"and again: a 404 is not cached", "POST /v1.41/containers/A/unpause", http.StatusNotFound, 4},
	} {
		send(s, answers, tt.call)
		assert.Equal(t, answer{tt.call, tt.wantStatus}, next(t, answers, tt.name), tt.name)
		assert.Equal(t, tt.wantInspects, d.inspected(), tt.name)
	}
}

// TestHeldCallAnswer: a held call is answered from the typed call's
// result as the daemon would have answered it, and the journal says how
// it ended.
func TestHeldCallAnswer(t *testing.T) {
	for _, tt := range []struct {
		name        string
		err         error
		wantStatus  int
		wantMessage string
		wantState   journal.State
		wantReason  string
	}{
		{"done", nil, http.StatusNoContent, "", journal.Applied, "the runtime is idle"},
		{"already gone: done all the same", cerrdefs.ErrNotFound.WithMessage("Error response from daemon: No such container: A"),
			http.StatusNotFound, "No such container: A", journal.Applied, "the container was already gone"},
		{"refused", cerrdefs.ErrConflict.WithMessage("Error response from daemon: removal of container A is already in progress"),
			http.StatusConflict, "removal of container A is already in progress", journal.Failed, "the daemon answered 409: removal of container A is already in progress"},
		{"the daemon did not answer", context.DeadlineExceeded,
			http.StatusInternalServerError, "epilogue-shim: context deadline exceeded", journal.Failed, "the daemon answered 500: epilogue-shim: context deadline exceeded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDaemon("A")
			if tt.err != nil {
				d.fail["remove"] = tt.err
			}
			s := testShim(t, d, map[string]*standIn{"A": newStandIn(0, 1)})
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodDelete, "/v1.41/containers/A?force=1", nil))
			assert.Equal(t, tt.wantStatus, rec.Code)
			if tt.wantMessage != "" {
				var body struct{ Message string }
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
				assert.Equal(t, tt.wantMessage, body.Message, "the docker CLI prints it after \"Error response from daemon: \"")
			}
			s.wg.Wait()
			b, err := os.ReadFile(filepath.Join(s.cfg.JournalDir, journal.FileName))
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			require.Len(t, lines, 2)
			var e journal.Entry
			require.NoError(t, json.Unmarshal([]byte(lines[1]), &e))
			assert.Equal(t, tt.wantState, e.State)
			assert.Equal(t, tt.wantReason, e.Reason)
			assert.Equal(t, string(removeOp), e.Op)
			assert.Equal(t, "force=1", e.Query)
		})
	}
}
