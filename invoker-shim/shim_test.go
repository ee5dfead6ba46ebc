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

// Bounds: every wait of these tests is bounded by one of them.
const (
	cliBound   = 90 * time.Second // one docker CLI command (a held rm -f waits for work)
	stateBound = 10 * time.Second // the daemon reaches a state
	poll       = 5 * time.Millisecond
	image      = "epilogue/action-go:latest"
)

// env is what every test needs: the real daemon and the action's code.
type env struct {
	daemon *client.Client
	code   string // base64 of tests/testaction
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
	envOnce.Do(func() {
		b, err := os.ReadFile(exe)
		if err != nil {
			panic(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), stateBound)
		defer cancel()
		gw, err := docker.Gateway(ctx, daemon, "bridge")
		if err != nil {
			panic(err)
		}
		shared = env{code: base64.StdEncoding.EncodeToString(b), gw: gw}
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
	ip := sh.mustDocker(t, "inspect", "--format", "{{.NetworkSettings.Networks.bridge.IPAddress}}", id)
	rt := &runtime{base: "http://" + ip + ":8080", hc: &http.Client{Timeout: stateBound}}
	body, _ := json.Marshal(map[string]any{"value": map[string]any{"binary": true, "main": "main", "code": e.code}})
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

// awaitDone blocks until activation id is done in the runtime.
func (rt *runtime) awaitDone(t *testing.T, id string) time.Time {
	t.Helper()
	resp, err := rt.hc.Get(rt.base + completion.AwaitPath + "?timeout=8s&activation=" + id)
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

// lingering starts a runtime container with an activation whose work goes
// on for linger after its response.
func (sh *shim) lingering(t *testing.T, e env, linger time.Duration) (id string, rt *runtime, activation string) {
	t.Helper()
	id = sh.openwhiskRun(t, e, image)
	rt = sh.runtime(t, e, id)
	activation = rt.run(t, fmt.Sprintf(`{"linger_ms":%d}`, linger.Milliseconds()), time.Minute)
	return id, rt, activation
}

func TestPauseWaitsForDone(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id, rt, act := sh.lingering(t, e, 1200*time.Millisecond)

	start := time.Now()
	sh.mustDocker(t, "pause", id)
	assert.Less(t, time.Since(start), 5*time.Second, "the invoker's 10 s pause timeout must never fire")
	assert.False(t, paused(t, e, id), "work pending: not paused for real")
	done := rt.awaitDone(t, act)
	require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll)
	t.Logf("real pause %s after done", time.Since(done).Round(time.Millisecond))
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
	id, rt, act := sh.lingering(t, e, 800*time.Millisecond)
	sh.mustDocker(t, "pause", id)
	sh.mustDocker(t, "unpause", id) // answered without the daemon
	rt.awaitDone(t, act)
	time.Sleep(200 * time.Millisecond) // a cancelled pause must not happen late
	assert.False(t, paused(t, e, id))
	rt.run(t, `{"quiet":true}`, time.Minute) // and the container serves
	assert.Contains(t, sh.log.String(), "the pause is cancelled")
}

// TestUnpauseOfAContainerFrozenElsewhere: with a pause deferred, the
// container gets frozen behind the shim's back; the invoker's unpause then
// cancels the deferral and reaches the daemon, or the container would stay
// frozen for good.
func TestUnpauseOfAContainerFrozenElsewhere(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id, _, _ := sh.lingering(t, e, 20*time.Second)
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
	id := sh.openwhiskRun(t, e, image)
	rt := sh.runtime(t, e, id)
	for i := range 3 {
		act := rt.run(t, `{"linger_ms":300}`, time.Minute)
		sh.mustDocker(t, "pause", id)
		if i%2 == 0 { // unpause before the real pause
			sh.mustDocker(t, "unpause", id)
			rt.awaitDone(t, act)
			assert.False(t, paused(t, e, id), "cycle %d", i)
			continue
		}
		rt.awaitDone(t, act)
		require.Eventually(t, func() bool { return paused(t, e, id) }, stateBound, poll, "cycle %d", i)
		sh.mustDocker(t, "unpause", id)
		assert.False(t, paused(t, e, id), "cycle %d", i)
	}
}

func TestRemoveHeldUntilDone(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id, rt, act := sh.lingering(t, e, time.Second)
	doneAt := make(chan time.Time, 1)
	go func() { doneAt <- rt.awaitDone(t, act) }()
	sh.mustDocker(t, "pause", id) // as the invoker: pause, then unpause + rm -f
	sh.mustDocker(t, "unpause", id)
	sh.mustDocker(t, "rm", "-f", id)
	removed := time.Now()
	assert.False(t, exists(t, e, id))
	done := <-doneAt
	assert.False(t, removed.Before(done), "removed %s before the work was done", done.Sub(removed))
}

// TestRemovePausedIsForwarded: a container paused for real (here, once its
// work was done) is removed at once: its frozen runtime cannot answer, and
// waiting for it would only run into the bound.
func TestRemovePausedIsForwarded(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id, rt, act := sh.lingering(t, e, 300*time.Millisecond)
	sh.mustDocker(t, "pause", id)
	rt.awaitDone(t, act)
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
	ctx, cancel := context.WithTimeout(context.Background(), cliBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "logs", "--follow", id)
	cmd.Env = append(os.Environ(), "DOCKER_HOST=unix://"+sh.sock)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	require.Eventually(t, func() bool { return strings.Contains(sh.log.String(), "serving") }, stateBound, poll)
	time.Sleep(200 * time.Millisecond) // let the follow reach the daemon

	start := time.Now()
	sh.stop(t)
	assert.Less(t, time.Since(start), 4*time.Second, "the stop waited for the stream (its shutdown timeout is 5 s)")
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
	id, rt, act := sh.lingering(t, e, 600*time.Millisecond)
	doneAt := make(chan time.Time, 1)
	go func() { doneAt <- rt.awaitDone(t, act) }()
	sh.mustDocker(t, "kill", id)
	killed := time.Now()
	assert.False(t, killed.Before(<-doneAt))
}

// TestBound: work may not keep its container past MaxLinger; past it the
// shim reclaims anyway and journals a forced reclaim naming the activation.
func TestBound(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir(), func(c *invokershim.Config) {
		c.Bounds = reclaim.Bounds{MaxLinger: 500 * time.Millisecond, CancelGrace: 100 * time.Millisecond}
	})
	id, _, act := sh.lingering(t, e, 20*time.Second)
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
	id, _, _ := sh.lingering(t, e, 20*time.Second)
	sh.mustDocker(t, "pause", id)
	require.False(t, paused(t, e, id), "deferred: work pending")
	ctx, cancel := context.WithTimeout(context.Background(), stateBound)
	defer cancel()
	require.NoError(t, e.daemon.ContainerPause(ctx, id)) // the runtime goes silent
	// An await slice (1 s, cut at 3 s), then two failed status calls
	// (2 s each) a second apart: about 7 s.
	require.Eventually(t, func() bool { return strings.Contains(sh.log.String(), "forced reclaim") }, 3*stateBound, poll)
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
	id, rt, act := sh.lingering(t, e, 5*time.Second)
	start := time.Now()
	sh.mustDocker(t, "rm", "-f", id)
	assert.Less(t, time.Since(start), 4*time.Second, "answered at the hold timeout, not when the work is done (5 s)")
	assert.True(t, exists(t, e, id), "the work is still pending")
	rt.awaitDone(t, act)
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
	id, rt, act := first.lingering(t, e, 1500*time.Millisecond)
	first.mustDocker(t, "pause", id)
	first.stop(t)
	assert.False(t, paused(t, e, id))

	second := startShim(t, e, dir)
	assert.Contains(t, second.log.String(), "resumed a deferred operation")
	rt.awaitDone(t, act)
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
	id, rt, act := first.lingering(t, e, 800*time.Millisecond)
	first.mustDocker(t, "pause", id)
	first.stop(t)
	rt.awaitDone(t, act)
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
	id, rt, act := first.lingering(t, e, 2*time.Second)
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
	done := rt.awaitDone(t, act)
	require.Eventually(t, func() bool { return !exists(t, e, id) }, stateBound, poll)
	assert.False(t, time.Now().Before(done))
	_ = second
}

// TestForgedEvent: an event that is not signed with the container's token
// is rejected and logged, and cannot hasten a pause.
func TestForgedEvent(t *testing.T) {
	e := setup(t)
	t.Parallel()
	sh := startShim(t, e, t.TempDir())
	id, rt, act := sh.lingering(t, e, 1200*time.Millisecond)
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
	time.Sleep(100 * time.Millisecond)
	assert.False(t, paused(t, e, id), "a forged event does not cause a pause")
	assert.Contains(t, sh.log.String(), "rejected an unsigned or wrongly signed event")
	rt.awaitDone(t, act)
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
	rt := sh.runtime(t, e, id)
	rt.run(t, `{"linger_ms":3000}`, time.Minute)
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
