package invokershim_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/internal/syncbuf"
	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
	"github.com/epilogue-dev/epilogue/invoker-shim/journal"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend/docker"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// Bounds: every wait of these tests is bounded by one of them. They are
// far above what a loaded machine needs, and no test waits on them when it
// passes: what a test asserts is order (the work is held on a gate the test
// opens), not how long something took.
const (
	cliBound   = 3 * time.Minute // one docker CLI command (a held rm -f waits for work)
	stateBound = time.Minute     // the daemon reaches a state, a request is answered
	poll       = 5 * time.Millisecond
	// gatedDeadline is a gated activation's deadline: never reached, the
	// test opens the gate.
	gatedDeadline = 10 * time.Minute
	image         = "epilogue/action-go:latest"
)

// env is what every test needs: the real daemon and the action's code.
type env struct {
	daemon *client.Client
	code   string // base64 of tests/testaction
	gated  string // base64 of testdata/gateaction
	gw     string // the bridge's gateway: where containers reach the shim
}

var (
	envOnce sync.Once
	shared  env
)

func setup(t *testing.T) env {
	t.Helper()
	daemon := testenv.RequireDocker(t)
	testenv.RequireImage(t, daemon, image)
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatalf("the docker CLI is needed (the tests drive the shim with it, as the invoker does): %v", err)
	}
	exe := testenv.BuildStatic(t, "./tests/testaction")
	gatedExe := testenv.BuildStatic(t, "./invoker-shim/testdata/gateaction")
	envOnce.Do(func() {
		b, err := os.ReadFile(exe)
		if err != nil {
			panic(err)
		}
		g, err := os.ReadFile(gatedExe)
		if err != nil {
			panic(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), stateBound)
		defer cancel()
		gw, err := docker.Gateway(ctx, daemon, "bridge")
		if err != nil {
			panic(err)
		}
		shared = env{code: base64.StdEncoding.EncodeToString(b), gated: base64.StdEncoding.EncodeToString(g), gw: gw}
	})
	e := shared
	e.daemon = daemon
	return e
}

// shim is one running epilogue-shim.
type shim struct {
	sock, journalDir string
	log              *syncbuf.Buffer
	s                *invokershim.Shim
	cancel           context.CancelFunc
	done             chan error
}

// startShim runs a shim on a socket in dir, journaling in dir/journal;
// edit may change its Config. It is stopped when the test ends.
func startShim(t *testing.T, e env, dir string, edit ...func(*invokershim.Config)) *shim {
	t.Helper()
	sh := &shim{sock: filepath.Join(dir, "docker.sock"), journalDir: filepath.Join(dir, "journal"), log: &syncbuf.Buffer{}, done: make(chan error, 1)}
	cfg := invokershim.Config{
		Listen: []string{"unix://" + sh.sock}, JournalDir: sh.journalDir,
		NotifyListen: net.JoinHostPort(e.gw, "0"),
		Logger:       slogTo(sh.log),
	}
	for _, f := range edit {
		f(&cfg)
	}
	ready := make(chan struct{})
	cfg.Ready = func() { close(ready) }
	s, err := invokershim.New(cfg)
	require.NoError(t, err)
	sh.s = s
	ctx, cancel := context.WithCancel(context.Background())
	sh.cancel = cancel
	go func() { sh.done <- s.Run(ctx) }()
	select {
	case <-ready:
	case err := <-sh.done:
		t.Fatalf("the shim did not start: %v\n%s", err, sh.log)
	case <-time.After(stateBound):
		t.Fatalf("the shim did not start within %s", stateBound)
	}
	t.Cleanup(func() { sh.stop(t) })
	return sh
}

// stop stops the shim (as a crash would: the open operations stay in the
// journal); it may be called more than once.
func (sh *shim) stop(t *testing.T) {
	t.Helper()
	if sh.cancel == nil {
		return
	}
	sh.cancel()
	sh.cancel = nil
	select {
	case err := <-sh.done:
		assert.NoError(t, err)
	case <-time.After(stateBound):
		t.Errorf("the shim did not stop within %s", stateBound)
	}
}

// docker runs the docker CLI against the shim, as the invoker does.
func (sh *shim) docker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sh.sock)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return strings.TrimSpace(out.String() + errOut.String()), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (sh *shim) mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := sh.docker(t, args...)
	require.NoError(t, err, "shim log:\n%s", sh.log)
	return out
}

// openwhiskRun starts a container with exactly the invoker's docker run
// (DockerContainer.create's docker run) and returns its id; it is removed when the test ends.
func (sh *shim) openwhiskRun(t *testing.T, e env, img string) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "wsk93_" + hex.EncodeToString(b) + "_guest_act"
	id := sh.mustDocker(t, "run", "-d", "--cpu-shares", "256", "--memory", "256m", "--memory-swap", "256m",
		"--network", "bridge", "-e", "__OW_API_HOST=https://apihost.invalid:443", "--name", name,
		"--cap-drop", "NET_RAW", "--cap-drop", "NET_ADMIN", "--ulimit", "nofile=1024:1024", "--pids-limit", "1024",
		"--log-driver", "json-file", img)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stateBound)
		defer cancel()
		_ = e.daemon.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	})
	return id
}

// runtime is the container's proxy, driven as the invoker drives it.
type runtime struct {
	base string
	hc   *http.Client
}

func (sh *shim) runtime(t *testing.T, e env, id string) *runtime {
	t.Helper()
	return sh.runtimeWith(t, id, e.code)
}

// runtimeWith initialises container id's runtime with code (base64).
func (sh *shim) runtimeWith(t *testing.T, id, code string) *runtime {
	t.Helper()
	ip := sh.mustDocker(t, "inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", id)
	rt := &runtime{base: "http://" + ip + ":8080", hc: &http.Client{Timeout: cliBound}}
	body, _ := json.Marshal(map[string]any{"value": map[string]any{"binary": true, "main": "main", "code": code}})
	deadline := time.Now().Add(stateBound)
	for {
		resp, err := rt.hc.Post(rt.base+"/init", "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			return rt
		}
		require.True(t, time.Now().Before(deadline), "/init: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
}

// run sends /run with value and the given deadline; it returns the id.
func (rt *runtime) run(t *testing.T, value string, deadline time.Duration) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	body := fmt.Sprintf(`{"value":%s,"activation_id":%q,"deadline":"%d"}`, value, id, time.Now().Add(deadline).UnixMilli())
	resp, err := rt.hc.Post(rt.base+"/run", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return id
}

// awaitDone blocks until activation id is done in the runtime. Only for a
// container no pause is owed on: once the work is done the shim pauses such
// a container, possibly with the answer still inside it (it then comes only
// after an unpause) — the invoker never talks to a container it paused.
func (rt *runtime) awaitDone(t *testing.T, id string) time.Time {
	t.Helper()
	resp, err := rt.hc.Get(rt.base + completion.AwaitPath + "?timeout=" + stateBound.String() + "&activation=" + id)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return time.Now()
}

func paused(t *testing.T, e env, id string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	defer cancel()
	info, err := e.daemon.ContainerInspect(ctx, id)
	require.NoError(t, err)
	return info.State.Paused
}

func exists(t *testing.T, e env, id string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	defer cancel()
	_, err := e.daemon.ContainerInspect(ctx, id)
	return err == nil
}

// gated starts a runtime container of the gate action with an activation
// whose work holds on gate name of gs until the test opens it; it returns
// once the work is held there.
func (sh *shim) gated(t *testing.T, e env, gs *gates, name string) (id string, rt *runtime, activation string) {
	t.Helper()
	id = sh.openwhiskRun(t, e, image)
	rt = sh.runtimeWith(t, id, e.gated)
	activation = rt.runGated(t, gs, name)
	return id, rt, activation
}

// runGated runs an activation of the gate action held on gate name, and
// returns once its work holds there.
func (rt *runtime) runGated(t *testing.T, gs *gates, name string) string {
	t.Helper()
	act := rt.run(t, fmt.Sprintf(`{"gate":%q}`, gs.url(name)), gatedDeadline)
	gs.waitArrived(t, name)
	return act
}

// idleEvents counts the events saying "idle" that the shim has accepted.
func (sh *shim) idleEvents() int {
	n := 0
	for _, line := range strings.Split(sh.log.String(), "\n") {
		if strings.Contains(line, "msg=event") && strings.Contains(line, "state=idle") {
			n++
		}
	}
	return n
}

func TestPauseWaitsForDone(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	gs := newGates(t, e)
	id, _, _ := sh.gated(t, e, gs, "work")

	// The pause is answered while the work is held: the invoker's pause
	// timeout can never fire, however long the work.
	sh.mustDocker(t, "pause", id)
	assert.False(t, paused(t, e, id), "work pending: not paused for real")
	gs.openGate("work")
	require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)
	assert.Contains(t, sh.log.String(), "pause deferred")
	assert.Contains(t, sh.log.String(), "msg=event", "the runtime's signed pushes are accepted")
	assert.NotContains(t, sh.log.String(), "rejected")

	sh.mustDocker(t, "unpause", id) // after the real pause: forwarded
	assert.False(t, paused(t, e, id))
}

func TestIdlePauseIsForwarded(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id := sh.openwhiskRun(t, e, image)
	sh.runtime(t, e, id)
	sh.mustDocker(t, "pause", id)
	assert.True(t, paused(t, e, id), "nothing pending: paused at once")
	sh.mustDocker(t, "unpause", id)
	assert.False(t, paused(t, e, id))
}

func TestUnpauseBeforeRealPause(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	gs := newGates(t, e)
	id, rt, act := sh.gated(t, e, gs, "work")
	sh.mustDocker(t, "pause", id)
	assert.False(t, paused(t, e, id), "work pending: not paused for real")
	sh.mustDocker(t, "unpause", id) // answered without the daemon
	require.False(t, gs.isOpen("work"), "the unpause came while the work was held")
	assert.Contains(t, sh.log.String(), "the pause is cancelled")

	idle := sh.idleEvents()
	gs.openGate("work")
	rt.awaitDone(t, act)
	// A cancelled pause must not happen late: once the shim has taken in
	// the runtime's "idle" — when it would do a pause still owed — the
	// container runs.
	require.Eventually(t, func() bool { return sh.idleEvents() > idle }, stateBound, poll, "the runtime's idle event never reached the shim")
	assert.False(t, paused(t, e, id))
	rt.run(t, `{}`, time.Minute) // and the container serves
}

// TestUnpauseOfAContainerFrozenElsewhere: with a pause deferred, the
// container gets frozen behind the shim's back; the invoker's unpause then
// cancels the deferral and reaches the daemon, or the container would stay
// frozen for good.
func TestUnpauseOfAContainerFrozenElsewhere(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id, _, _ := sh.gated(t, e, newGates(t, e), "work")
	sh.mustDocker(t, "pause", id)
	require.False(t, paused(t, e, id), "deferred: work pending")
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	defer cancel()
	require.NoError(t, e.daemon.ContainerPause(ctx, id))
	sh.mustDocker(t, "unpause", id)
	assert.False(t, paused(t, e, id), "the unpause reached the daemon")
	assert.Contains(t, sh.log.String(), "forwarded=true")
}

func TestRepeatedPauseCycles(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	gs := newGates(t, e)
	id := sh.openwhiskRun(t, e, image)
	rt := sh.runtimeWith(t, id, e.gated)
	for i := range 3 {
		gate := fmt.Sprint(i)
		act := rt.runGated(t, gs, gate)
		sh.mustDocker(t, "pause", id)
		require.False(t, paused(t, e, id), "cycle %d: work pending, the pause is deferred", i)
		if i%2 == 0 { // unpause before the real pause
			sh.mustDocker(t, "unpause", id)
			gs.openGate(gate)
			rt.awaitDone(t, act) // no pause is owed: the container runs
			assert.False(t, paused(t, e, id), "cycle %d", i)
			continue
		}
		// The owed pause follows the work's end. The runtime is not asked
		// when it is done: the shim pauses it the moment it is, and an
		// answer still inside the frozen container would come only after
		// the unpause. The real pause is what shows the work done.
		gs.openGate(gate)
		require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll, "cycle %d", i)
		sh.mustDocker(t, "unpause", id)
		assert.False(t, paused(t, e, id), "cycle %d", i)
	}
}

func TestRemoveHeldUntilDone(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	gs := newGates(t, e)
	id, _, _ := sh.gated(t, e, gs, "work")
	sh.mustDocker(t, "pause", id) // as the invoker: pause, then unpause + rm -f
	sh.mustDocker(t, "unpause", id)
	heldUntilOpen(t, sh, gs, "work", "remove", "rm", "-f", id)
	assert.False(t, exists(t, e, id))
}

// heldUntilOpen runs docker args, which the shim must hold (as op) while
// the work on gate name is: it opens the gate once the shim says it holds
// the call, and checks the call was answered only after that.
func heldUntilOpen(t *testing.T, sh *shim, gs *gates, name, op string, args ...string) {
	t.Helper()
	type answer struct {
		err     error
		wasOpen bool
	}
	answered := make(chan answer, 1)
	go func() {
		_, err := sh.docker(t, args...)
		answered <- answer{err, gs.isOpen(name)}
	}()
	require.Eventually(t, func() bool { return strings.Contains(sh.log.String(), op+" held") }, stateBound, poll,
		"the shim did not hold docker %s", strings.Join(args, " "))
	gs.openGate(name)
	select {
	case a := <-answered:
		require.NoError(t, a.err, "shim log:\n%s", sh.log)
		assert.True(t, a.wasOpen, "docker %s was answered while the work was still held on its gate", strings.Join(args, " "))
	case <-time.After(cliBound):
		t.Fatalf("docker %s was not answered within %s of the work's end", strings.Join(args, " "), cliBound)
	}
}

// TestRemovePausedIsForwarded: a container paused for real (here, once its
// work was done) is removed at once: its frozen runtime cannot answer, and
// waiting for it would only run into the bound.
func TestRemovePausedIsForwarded(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	gs := newGates(t, e)
	id, _, _ := sh.gated(t, e, gs, "work")
	sh.mustDocker(t, "pause", id)
	gs.openGate("work")
	require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)
	sh.mustDocker(t, "rm", "-f", id) // as the standalone pool does; the invoker unpauses first
	assert.False(t, exists(t, e, id))
	assert.NotContains(t, sh.log.String(), "remove held")
	assert.NotContains(t, sh.log.String(), "forced reclaim")
}

// TestStopEndsStreams: a stop (or restart) of the shim ends the streams it
// forwards instead of waiting for them, so it is prompt.
func TestStopEndsStreams(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id := sh.openwhiskRun(t, e, image)
	rt := sh.runtime(t, e, id)
	ctx, cancel := context.WithTimeout(context.Background(), cliBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "logs", "--follow", id)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sh.sock)
	out := &syncbuf.Buffer{}
	cmd.Stdout = out
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The follow streams: a line written now shows up through it.
	rt.run(t, `{}`, time.Minute)
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "hello stdout") }, stateBound, poll,
		"the followed log did not stream: %q", out.String())

	sh.stop(t)
	assert.NotContains(t, sh.log.String(), "shutdown bound passed", "the stop waited for the stream until its bound")
	select {
	case <-exited:
	case <-time.After(stateBound):
		t.Fatal("docker logs --follow did not end when the shim stopped")
	}
}

func TestKillHeldUntilDone(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	gs := newGates(t, e)
	id, _, _ := sh.gated(t, e, gs, "work")
	heldUntilOpen(t, sh, gs, "work", "kill", "kill", id)
}

// TestBound: work may not keep its container past MaxLinger; past it the
// shim reclaims anyway and journals a forced reclaim naming the activation.
func TestBound(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir(), func(c *invokershim.Config) {
		c.Bounds = reclaim.Bounds{MaxLinger: 500 * time.Millisecond, CancelGrace: 100 * time.Millisecond}
	})
	id, _, act := sh.gated(t, e, newGates(t, e), "work") // never opened
	sh.mustDocker(t, "pause", id)
	require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)
	// The shim logs once the daemon has answered, which may be just after
	// the pause shows.
	require.Eventually(t, func() bool { return strings.Contains(sh.log.String(), "forced reclaim") }, stateBound, poll)
	assert.Contains(t, sh.log.String(), act)
	sh.stop(t)
	assert.Contains(t, journalText(t, sh), `"state":"forced"`)
	assert.Contains(t, journalText(t, sh), act)
}

// TestUnresponsiveRuntime: a runtime that stops answering (here frozen
// behind the shim's back) is not trusted to be busy for ever: its deferred
// pause is forced once reclaim's Unreachable bound passes, and journaled so.
func TestUnresponsiveRuntime(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir(), func(c *invokershim.Config) { c.Bounds = reclaim.Bounds{Unreachable: time.Second} })
	id, _, _ := sh.gated(t, e, newGates(t, e), "work") // never opened
	sh.mustDocker(t, "pause", id)
	require.False(t, paused(t, e, id), "deferred: work pending")
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	defer cancel()
	require.NoError(t, e.daemon.ContainerPause(ctx, id)) // the runtime goes silent
	// An await slice (1 s, cut at 3 s), then two failed status calls
	// (2 s each) a second apart: about 7 s on a quiet machine.
	require.Eventually(t, func() bool { return strings.Contains(sh.log.String(), "forced reclaim") }, stateBound, poll)
	assert.Contains(t, sh.log.String(), "did not answer")
	sh.stop(t)
	j, err := journal.Open(sh.journalDir)
	require.NoError(t, err)
	assert.Empty(t, j.Open(), "nothing left open")
	require.NoError(t, j.Close())
	assert.Contains(t, journalText(t, sh), "did not answer")
}

// TestHoldTimeout: a removal held past HoldTimeout is answered, and done
// when the work is.
func TestHoldTimeout(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir(), func(c *invokershim.Config) { c.HoldTimeout = 300 * time.Millisecond })
	gs := newGates(t, e)
	id, _, _ := sh.gated(t, e, gs, "work")
	sh.mustDocker(t, "rm", "-f", id) // answered with the work held: at the hold timeout
	assert.True(t, exists(t, e, id), "the work is still pending")
	assert.Contains(t, sh.log.String(), "held past the hold timeout")
	gs.openGate("work") // the removal follows the work's end
	require.Eventually(t, func() bool { return !exists(t, e, id) }, stateBound, poll)
}

func journalText(t *testing.T, sh *shim) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sh.journalDir, journal.FileName))
	require.NoError(t, err)
	return string(b)
}

// TestRestartDuringDeferredPause: a new shim finishes the pause an earlier
// one deferred, once, when the work is done.
func TestRestartDuringDeferredPause(t *testing.T) {
	e := setup(t)
	t.Parallel()
	dir := t.TempDir()
	first := startShim(t, e, dir)
	gs := newGates(t, e)
	id, _, _ := first.gated(t, e, gs, "work")
	first.mustDocker(t, "pause", id)
	first.stop(t)
	assert.False(t, paused(t, e, id))

	second := startShim(t, e, dir)
	assert.Contains(t, second.log.String(), "resumed a deferred operation")
	assert.False(t, paused(t, e, id), "the work is held: the resumed pause waits")
	gs.openGate("work")
	require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)
	second.stop(t)
	assert.Equal(t, 1, strings.Count(journalText(t, second), `"state":"applied"`), "applied once")

	// A third start finds nothing open: nothing is sent twice.
	third := startShim(t, e, dir)
	assert.NotContains(t, third.log.String(), "resumed")
	assert.True(t, paused(t, e, id))
}

// TestRestartReconcilesAppliedPause: a deferred pause that was done for real
// just before the shim died is closed at the next start, not sent again.
func TestRestartReconcilesAppliedPause(t *testing.T) {
	e := setup(t)
	t.Parallel()
	dir := t.TempDir()
	first := startShim(t, e, dir)
	gs := newGates(t, e)
	id, rt, act := first.gated(t, e, gs, "work")
	first.mustDocker(t, "pause", id)
	first.stop(t)
	gs.openGate("work")
	rt.awaitDone(t, act) // no shim runs: nothing pauses it
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	defer cancel()
	require.NoError(t, e.daemon.ContainerPause(ctx, id)) // as if the first shim had paused it

	second := startShim(t, e, dir)
	assert.Contains(t, second.log.String(), "already paused")
	second.stop(t)
	assert.Contains(t, journalText(t, second), "already paused")
}

// TestRestartDuringHeldRemoval: the removal a stopped shim held is done by
// the next one, when the work is done, and not before.
func TestRestartDuringHeldRemoval(t *testing.T) {
	e := setup(t)
	t.Parallel()
	dir := t.TempDir()
	first := startShim(t, e, dir)
	gs := newGates(t, e)
	id, _, _ := first.gated(t, e, gs, "work")
	rm := make(chan error, 1)
	go func() {
		_, err := first.docker(t, "rm", "-f", id)
		rm <- err
	}()
	require.Eventually(t, func() bool { return strings.Contains(first.log.String(), "remove held") }, stateBound, poll)
	first.stop(t)
	<-rm // answered (the journal keeps the removal) or cut: either way the invoker moves on
	assert.True(t, exists(t, e, id), "the work is pending: not removed")

	second := startShim(t, e, dir)
	assert.Contains(t, second.log.String(), "resumed a deferred operation")
	assert.True(t, exists(t, e, id), "the work is still held: not removed")
	// The removal follows the work's end (no await: the removal may take
	// the answer with it).
	gs.openGate("work")
	require.Eventually(t, func() bool { return !exists(t, e, id) }, stateBound, poll)
}

// TestForgedEvent: an event that is not signed with the container's token
// is rejected and logged, and cannot hasten a pause.
func TestForgedEvent(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	gs := newGates(t, e)
	id, _, _ := sh.gated(t, e, gs, "work")
	sh.mustDocker(t, "pause", id)
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	defer cancel()
	info, err := e.daemon.ContainerInspect(ctx, id)
	require.NoError(t, err)
	instance := info.Config.Labels[invokershim.LabelInstance]
	require.NotEmpty(t, instance, "the shim labels the runtime containers it sees created")

	ev := fmt.Sprintf(`{"type":"quiescent","instance":%q,"state":"idle","time":"2026-01-01T00:00:00Z"}`, instance)
	for name, sig := range map[string]string{"unsigned": "", "wrong key": "sha256=" + strings.Repeat("ab", 32)} {
		req, err := http.NewRequest(http.MethodPost, sh.s.NotifyURL()+invokershim.EventsPath, strings.NewReader(ev))
		require.NoError(t, err)
		if sig != "" {
			req.Header.Set("X-Epilogue-Signature", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
	}
	// Each was rejected before its answer: nothing of it is acted on later.
	assert.False(t, paused(t, e, id), "a forged event does not cause a pause")
	assert.Contains(t, sh.log.String(), "rejected an unsigned or wrongly signed event")
	gs.openGate("work")
	require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)
}

// TestOtherContainersPassThrough: a container of another image is paused
// at once, pending work or not.
func TestOtherContainersPassThrough(t *testing.T) {
	e := setup(t)
	t.Parallel()
	other := otherImage(t, e)
	sh := startShim(t, e, t.TempDir())
	id := sh.openwhiskRun(t, e, other)
	rt := sh.runtimeWith(t, id, e.gated)
	rt.runGated(t, newGates(t, e), "work") // never opened: work pending throughout
	sh.mustDocker(t, "pause", id)
	assert.True(t, paused(t, e, id), "not an Epilogue runtime: paused at once")
	sh.mustDocker(t, "rm", "-f", id)
	assert.False(t, exists(t, e, id))
}

// otherImage builds an image the shim does not know as a runtime: the same
// proxy under another name.
func otherImage(t *testing.T, e env) string {
	t.Helper()
	ref := "epilogue/shim-test-other:" + fmt.Sprint(os.Getpid())
	dir := t.TempDir()
	proxy, err := os.ReadFile(testenv.BuildStatic(t, "./cmd/epilogue-proxy"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "proxy"), proxy, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY proxy /proxy\nENV OW_WAIT_FOR_ACK=1\nENTRYPOINT [\"/proxy\"]\n"), 0o644))
	out, err := exec.Command("docker", "build", "-q", "-t", ref, dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", ref).Run() })
	return ref
}

func TestDisallowedEndpoint(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id := sh.openwhiskRun(t, e, image)
	out, err := sh.docker(t, "exec", id, "/bin/epilogue-proxy", "-version")
	require.Error(t, err)
	assert.Contains(t, out, "is not on the allowlist")
	assert.Contains(t, out, "--allow 'POST /containers/{id}/exec'")

	fi, err := os.Stat(sh.sock)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o660), fi.Mode().Perm(), "the socket is owner and group only")

	// The invoker's other calls pass: ps with its filter, inspect, logs.
	assert.Contains(t, sh.mustDocker(t, "ps", "--quiet", "--no-trunc", "--all", "--filter", "name=wsk93_"), id)
	assert.Equal(t, "false", sh.mustDocker(t, "inspect", id, "--format", "{{.State.OOMKilled}}"))
	_, err = sh.docker(t, "logs", id, "--timestamps")
	assert.NoError(t, err)
}

// TestAllowFlag: endpoints added with --allow are forwarded.
func TestAllowFlag(t *testing.T) {
	e := setup(t)
	t.Parallel()
	var rules []invokershim.Rule
	for _, r := range []string{"POST /containers/{id}/exec", "POST /exec/{id}/start", "GET /exec/{id}/json", "POST /exec/{id}/resize"} {
		rule, err := invokershim.ParseRule(r)
		require.NoError(t, err)
		rules = append(rules, rule)
	}
	sh := startShim(t, e, t.TempDir(), func(c *invokershim.Config) { c.Allow = rules })
	id := sh.openwhiskRun(t, e, image)
	out := sh.mustDocker(t, "exec", id, "/bin/epilogue-proxy", "-version")
	assert.Contains(t, out, "epilogue-proxy")
}

// TestStreams: a followed log streams through the shim as it is written.
func TestStreams(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id := sh.openwhiskRun(t, e, image)
	rt := sh.runtime(t, e, id)
	ctx, cancel := context.WithTimeout(context.Background(), cliBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "logs", "--follow", id)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sh.sock)
	out := &syncbuf.Buffer{}
	cmd.Stdout = out
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// Each run prints "hello stdout". The first line may come from the
	// log's history; the second is written after the follower has shown
	// the first, so it can only arrive by streaming.
	for n := 1; n <= 2; n++ {
		rt.run(t, `{}`, time.Minute)
		require.Eventually(t, func() bool { return strings.Count(out.String(), "hello stdout") >= n }, stateBound, poll,
			"the followed log did not stream: %q", out.String())
	}
}
