package conformance

import (
	"encoding/json"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// exitTimeout bounds how long a test waits for a draining proxy to exit
// once nothing should hold it: far above any load, never waited in full
// when the proxy behaves.
const exitTimeout = 2 * time.Minute

// exitCode waits for p to exit and returns its exit code.
func (p *proxy) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(exitTimeout):
		t.Fatalf("the proxy did not exit within %s of the drain's end; stderr: %q", exitTimeout, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// signalWhilePending sends sig, waits (bounded) for the status to say the
// runtime is draining, and checks that in that same status the activation
// id was still pending: the drain has something to wait for.
func signalWhilePending(t *testing.T, p *proxy, id string, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	var snap struct {
		snapshot
		Draining bool `json:"draining"`
	}
	require.Truef(t, waitFor(exitTimeout, func() bool {
		r := p.get(t, completion.StatusPath)
		r.requireOK(t)
		require.NoError(t, json.Unmarshal(r.Body, &snap))
		return snap.Draining
	}), "the status never said draining after the signal; stderr: %q", p.stderr.String())
	rec, found := snap.find(id)
	require.Truef(t, found, "%s not in the status after the signal: %+v", id, snap)
	require.Equalf(t, "responded", rec.Phase, "%s when the drain began: got phase %q; want its work still pending", id, rec.Phase)
}

// TestDrainOnSIGTERM: the kubelet deletes an idle action pod with SIGTERM
// to PID 1, the proxy. It must not take new work, must keep answering
// status and await, and must exit 0 only after the pending work is done.
// The work is held at a gate until the drain has begun and refused new
// work, so the order holds on any machine.
func TestDrainOnSIGTERM(t *testing.T) {
	t.Parallel()
	g := testenv.NewGate(t)
	p := extendedProxy(t)
	p.run(t, obj{"linger_ms": 1, "gate": g.URL("drain-1"), "quiet": true}, "activation_id=drain-1").requireOK(t)
	g.WaitArrived(t, "drain-1", exitTimeout)
	signalWhilePending(t, p, "drain-1", syscall.SIGTERM)

	r := p.run(t, obj{"quiet": true}, "activation_id=late")
	assert.Equalf(t, http.StatusServiceUnavailable, r.Status, "/run during the drain: got %s; want 503", r)
	assert.Contains(t, r.errorText(t), "shutting down")
	r = p.init(t, fixtureInit(t, nil))
	assert.Equalf(t, http.StatusServiceUnavailable, r.Status, "/init during the drain: got %s; want 503", r)
	select {
	case <-p.exited:
		t.Fatalf("the proxy exited while the work was held; stderr: %q", p.stderr.String())
	default:
	}

	// Await still answers while the work is held (here: its timeout, with
	// the work still pending). Once the gate opens the work ends as it
	// would have anyway, and only then does the proxy exit, 0: an await
	// issued now could race that exit, so the log and the code say done.
	r = p.get(t, completion.AwaitPath+"?activation=drain-1&timeout=10ms")
	assert.Equalf(t, http.StatusGatewayTimeout, r.Status, "await during the drain: got %s; want 504 (the work is held)", r)
	assert.Contains(t, string(r.Body), `"responded"`)
	g.Open("drain-1")

	assert.Equal(t, 0, p.exitCode(t), "stderr: %s", p.stderr.String())
	assert.Contains(t, p.stderr.String(), "every activation's work is done")
	assert.NotContains(t, p.stdout.String()+p.stderr.String(), "late", "the refused activation ran")
}

// TestDrainIdleExitsAtOnce: with nothing pending a signal ends the proxy
// cleanly, as before.
func TestDrainIdleExitsAtOnce(t *testing.T) {
	t.Parallel()
	p := extendedProxy(t)
	p.run(t, obj{"quiet": true}, "activation_id=quick").requireOK(t)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.exitCode(t), "stderr: %s", p.stderr.String())
	assert.NotContains(t, p.stderr.String(), "draining")
}

// TestDrainCut: the drain's bound, or a second signal, ends it with the
// work pending. What it cuts is named in the log and the exit code says
// the work was lost.
func TestDrainCut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  []string
		cut  func(t *testing.T, p *proxy)
		why  string
	}{
		{
			name: "by its bound",
			env:  []string{completion.EnvDrainTimeout + "=1s"},
			cut:  func(*testing.T, *proxy) {},
			why:  "ended by its bound",
		},
		{
			name: "by a second signal",
			cut: func(t *testing.T, p *proxy) {
				require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			},
			why: "ended by a second signal",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := extendedProxy(t, withEnv(tc.env...))
			// Work that outlasts the test's patience: only a cut ends it.
			p.run(t, obj{"linger_ms": 10 * 60 * 1000, "quiet": true}, "activation_id=cut-1").requireOK(t)
			signalWhilePending(t, p, "cut-1", syscall.SIGTERM)
			tc.cut(t, p)
			assert.Equal(t, 1, p.exitCode(t), "stderr: %s", p.stderr.String())
			assert.Contains(t, p.stderr.String(), tc.why)
			assert.Contains(t, p.stderr.String(), "cut and recorded failed: cut-1")
		})
	}
}
