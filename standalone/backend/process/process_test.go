package process

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/standalone/backend"
	"github.com/epilogue-dev/epilogue/standalone/backend/backendtest"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

const image = "epilogue/action-go:latest"

// testBound bounds one backend call or wait in these tests: far above a busy
// machine's delays, and never waited out when they pass.
const testBound = 2 * time.Minute

// hc talks to the proxies, each exchange bounded.
var hc = &http.Client{Timeout: testBound}

func newTestBackend(t *testing.T) *Backend {
	t.Helper()
	b, err := New(Config{ProxyPath: testenv.BuildStatic(t, "./cmd/epilogue-proxy"), WorkDir: t.TempDir(), APIHost: "https://apihost.invalid:443"})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testBound)
		defer cancel()
		assert.NoError(t, b.Close(ctx))
	})
	return b
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	t.Cleanup(cancel)
	return ctx
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend { return newTestBackend(t) }, image, testenv.BuildStatic(t, "./tests/testaction"))
}

func TestSupportsImage(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		ref  string
		want bool
	}{
		{"epilogue/action-go", true},
		{"epilogue/action-go:latest", true},
		{"epilogue/action-go:0.1.0", true},
		{"epilogue/action-go@" + digest, true},
		{"epilogue/action-go:0.1.0@" + digest, true},
		{"docker.io/epilogue/action-go:latest", true},
		{"index.docker.io/epilogue/action-go", true},
		{"epilogue/action-go:", false},
		{"epilogue/action-go@sha256:short", false},
		{"epilogue/action-gox", false},
		{"epilogue/action-go/x", false},
		{"openwhisk/action-golang-v1.22:nightly", false},
		{"ghcr.io/epilogue/action-go:latest", false},
		{"localhost:5000/epilogue/action-go", false},
		{"Epilogue/Action-Go", false},
		{"", false},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			assert.Equal(t, tc.want, SupportsImage(tc.ref))
		})
	}
}

func TestUnsupportedImage(t *testing.T) {
	b := newTestBackend(t)
	c, err := b.Create(testCtx(t), backend.Spec{Name: "wsk0_1_guest_node", Image: "openwhisk/action-nodejs-v20:nightly"})
	assert.Nil(t, c)
	require.ErrorIs(t, err, backend.ErrUnsupportedImage)
	assert.Equal(t, `backend: unsupported image: the process backend runs only epilogue/action-go images; run image "openwhisk/action-nodejs-v20:nightly" with --backend docker`, err.Error())
}

func TestNewProxyNotFound(t *testing.T) {
	_, err := New(Config{ProxyPath: filepath.Join(t.TempDir(), "no-proxy")})
	assert.ErrorIs(t, err, os.ErrNotExist)

	notExec := filepath.Join(t.TempDir(), "epilogue-proxy")
	require.NoError(t, os.WriteFile(notExec, []byte("x"), 0o644))
	_, err = New(Config{ProxyPath: notExec})
	assert.ErrorIs(t, err, os.ErrPermission)
}

// TestNewFindsProxy: "" looks next to the executable, then in PATH.
func TestNewFindsProxy(t *testing.T) {
	dir := t.TempDir()
	proxy := filepath.Join(dir, ProxyName)
	require.NoError(t, os.WriteFile(proxy, []byte("#!/bin/sh\n"), 0o755))
	t.Setenv("PATH", dir)
	b, err := New(Config{WorkDir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, proxy, b.ProxyPath())

	t.Setenv("PATH", t.TempDir())
	_, err = New(Config{WorkDir: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "make build")
}

// TestEnvironment: the proxy gets the image's environment, the API host and
// the Spec's, and nothing from the backend's process.
func TestEnvironment(t *testing.T) {
	t.Setenv("EPILOGUE_BACKEND_TEST_LEAK", "1")
	b := newTestBackend(t)
	c, err := b.Create(testCtx(t), backend.Spec{Name: "wsk0_1_guest_env", Image: image,
		Env: map[string]string{completion.EnvSemantics: "overlap", completion.EnvListenFD: "7", "A": "b=c"}})
	require.NoError(t, err)
	// Once it answers, the proxy has been exec'd (before, /proc shows the
	// forked child's environment).
	resp, err := hc.Get("http://" + c.Addr() + completion.StatusPath)
	require.NoError(t, err)
	resp.Body.Close()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%s/environ", c.ID()))
	require.NoError(t, err)
	// The proxy re-executed itself (internal/sysmon): /proc shows that
	// exec's environment, the backend's plus what the proxy added.
	var got []string
	for _, kv := range strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00") {
		switch {
		case kv == "GODEBUG=schedtrace=2147483647", strings.HasPrefix(kv, completion.EnvSysmonFDs+"="):
		default:
			got = append(got, kv)
		}
	}
	assert.Equal(t, []string{
		"A=b=c",
		completion.EnvInstance + "=wsk0_1_guest_env",
		completion.EnvListenFD + "=3",
		completion.EnvSemantics + "=overlap",
		"OW_WAIT_FOR_ACK=1",
		"__OW_API_HOST=https://apihost.invalid:443",
	}, got)
}

// initFixture uploads tests/testaction and returns the action's pid.
func initFixture(t *testing.T, c backend.Container) int {
	t.Helper()
	code, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)
	body := fmt.Sprintf(`{"value":{"binary":true,"main":"main","code":%q}}`, encode(code))
	resp, err := hc.Post("http://"+c.Addr()+"/init", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	pid, _ := strconv.Atoi(c.ID())
	procs, err := session(pid)
	require.NoError(t, err)
	for _, p := range procs {
		if p.pid != pid {
			return p.pid
		}
	}
	t.Fatalf("no action process in session %d: %+v", pid, procs)
	return 0
}

// TestPauseFreezesTheAction: the proxy starts the action in a process group
// of its own, so stopping the proxy's group alone would leave the action
// running; Pause stops every thread of both.
func TestPauseFreezesTheAction(t *testing.T) {
	b := newTestBackend(t)
	c, err := b.Create(testCtx(t), backend.Spec{Name: "wsk0_1_guest_freeze", Image: image})
	require.NoError(t, err)
	proxyPid, _ := strconv.Atoi(c.ID())
	actionPid := initFixture(t, c)

	procs, err := session(proxyPid)
	require.NoError(t, err)
	groups := map[int]int{}
	for _, p := range procs {
		groups[p.pid] = p.pgid
	}
	assert.Equal(t, proxyPid, groups[proxyPid], "the proxy leads its group")
	assert.Equal(t, actionPid, groups[actionPid], "the action leads a group of its own")

	require.NoError(t, c.Pause(testCtx(t)))
	for _, pid := range []int{proxyPid, actionPid} {
		states, err := threadStates(pid)
		require.NoError(t, err)
		require.NotEmpty(t, states)
		assert.Equalf(t, strings.Repeat("T", len(states)), string(states), "thread states of pid %d", pid)
	}
	require.NoError(t, c.Unpause(testCtx(t)))
	for _, pid := range []int{proxyPid, actionPid} {
		states, err := threadStates(pid)
		require.NoError(t, err)
		assert.NotContainsf(t, string(states), "T", "thread states of pid %d", pid)
	}

	require.NoError(t, c.Remove(testCtx(t)))
	for _, pid := range []int{proxyPid, actionPid} {
		p, ok, err := readStat(fmt.Sprintf("/proc/%d/stat", pid))
		require.NoError(t, err)
		assert.Truef(t, !ok || p.gone(), "pid %d is still alive: %+v", pid, p)
	}
}

// TestRemove: connections are refused at once, and the directory is gone.
func TestRemove(t *testing.T) {
	b := newTestBackend(t)
	c, err := b.Create(testCtx(t), backend.Spec{Name: "wsk0_1_guest_rm", Image: image})
	require.NoError(t, err)
	dir := c.(*container).Dir()
	require.DirExists(t, dir)
	assert.Equal(t, b.workDir, filepath.Dir(dir))
	require.NoError(t, c.Remove(testCtx(t)))
	_, err = net.DialTimeout("tcp", c.Addr(), time.Second)
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	assert.NoDirExists(t, dir)
	_, _, err = c.Logs()
	assert.ErrorIs(t, err, backend.ErrRemoved)

	// The name is free again.
	c2, err := b.Create(testCtx(t), backend.Spec{Name: "wsk0_1_guest_rm", Image: image})
	require.NoError(t, err)
	assert.NotEqual(t, c.ID(), c2.ID())
}

// TestExitedProxy: a container whose proxy died cannot be paused, and is
// still removed.
func TestExitedProxy(t *testing.T) {
	b := newTestBackend(t)
	c, err := b.Create(testCtx(t), backend.Spec{Name: "wsk0_1_guest_dead", Image: image})
	require.NoError(t, err)
	pid, _ := strconv.Atoi(c.ID())
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	select {
	case <-c.(*container).exited:
	case <-time.After(testBound):
		t.Fatal("the killed proxy was not reaped")
	}
	err = c.Pause(testCtx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not running")
	require.NoError(t, c.Remove(testCtx(t)))
}

// TestDiesWithBackend: a proxy dies with the process that created it
// (Pdeathsig), here a re-executed test binary killed with SIGKILL.
func TestDiesWithBackend(t *testing.T) {
	if os.Getenv("PROCESS_BACKEND_HELPER") != "" {
		b, err := New(Config{ProxyPath: os.Getenv("PROCESS_BACKEND_PROXY"), WorkDir: os.Getenv("PROCESS_BACKEND_DIR")})
		require.NoError(t, err)
		c, err := b.Create(context.Background(), backend.Spec{Name: "orphan", Image: image})
		require.NoError(t, err)
		fmt.Printf("proxy pid %s\n", c.ID())
		time.Sleep(2 * testBound) // killed by the parent long before
		return
	}
	ctx := testCtx(t)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDiesWithBackend$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PROCESS_BACKEND_HELPER=1", "GORACE=atexit_sleep_ms=0",
		"PROCESS_BACKEND_PROXY="+testenv.BuildStatic(t, "./cmd/epilogue-proxy"), "PROCESS_BACKEND_DIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var line []byte
	buf := make([]byte, 1)
	for !bytes.HasSuffix(line, []byte("\n")) {
		_, err := out.Read(buf)
		require.NoErrorf(t, err, "helper output so far: %q", line)
		line = append(line, buf[0])
	}
	var pid int
	_, err = fmt.Sscanf(string(line), "proxy pid %d", &pid)
	require.NoErrorf(t, err, "helper said %q", line)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	deadline := time.Now().Add(testBound)
	for {
		p, ok, err := readStat(fmt.Sprintf("/proc/%d/stat", pid))
		require.NoError(t, err)
		if !ok || p.gone() {
			return
		}
		require.Truef(t, time.Now().Before(deadline), "proxy %d outlived the backend's process: %+v", pid, p)
		time.Sleep(10 * time.Millisecond)
	}
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     proc
		wantErr  bool
	}{
		{"plain", "42 (exec) S 1 42 40 0 -1", proc{pid: 42, pgid: 42, sid: 40, state: 'S'}, false},
		{"spaces and parens in comm", "7 (a) b (c)) T 1 8 9 0", proc{pid: 7, pgid: 8, sid: 9, state: 'T'}, false},
		{"truncated", "7 (a) T 1", proc{}, true},
		{"no comm", "7 T 1 2 3", proc{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStat([]byte(tc.in))
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestFollowerClose: Close ends a Read that waits for output.
func TestFollowerClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	require.NoError(t, os.WriteFile(path, []byte("a"), 0o600))
	f, err := newFollower(path, make(chan struct{}))
	require.NoError(t, err)
	buf := make([]byte, 8)
	n, err := f.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "a", string(buf[:n]))
	done := make(chan error, 1)
	go func() {
		_, err := f.Read(buf)
		done <- err
	}()
	require.NoError(t, f.Close())
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, os.ErrClosed), "got %v; want os.ErrClosed", err)
	case <-time.After(testBound):
		t.Fatal("Read did not return after Close")
	}
}

// TestFollowerRemoved: after removal, what was written is still read, then EOF.
func TestFollowerRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	removed := make(chan struct{})
	f, err := newFollower(path, removed)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, os.WriteFile(path, []byte("late line\n"), 0o600))
	close(removed)
	var got []byte
	buf := make([]byte, 4)
	for {
		n, err := f.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			assert.ErrorIs(t, err, io.EOF)
			break
		}
	}
	assert.Equal(t, "late line\n", string(got))
}

// TestWriteWatch: a write to the followed file signals the watch (inotify),
// so a Read waiting for output wakes without waiting for its poll; a Read
// that waits returns what is written later.
func TestWriteWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	w := watchWrites(path)
	require.NotNil(t, w, "inotify is unavailable here (is fs.inotify.max_user_instances used up?)")
	defer w.close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer f.Close()
	for _, line := range []string{"first\n", "second\n"} {
		_, err = f.WriteString(line)
		require.NoError(t, err)
		select {
		case <-w.signal():
		case <-time.After(testBound):
			t.Fatalf("no signal for the write of %q", line)
		}
	}

	fl, err := newFollower(path, make(chan struct{}))
	require.NoError(t, err)
	defer fl.Close()
	require.NotNil(t, fl.writes)
	buf := make([]byte, 64)
	n, err := fl.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "first\nsecond\n", string(buf[:n]))
	got := make(chan string, 1)
	go func() {
		n, err := fl.Read(buf)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(buf[:n])
	}()
	_, err = f.WriteString("third\n")
	require.NoError(t, err)
	select {
	case s := <-got:
		assert.Equal(t, "third\n", s)
	case <-time.After(testBound):
		t.Fatal("Read did not return the later write")
	}
}

func encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestSignalDrains: on the process backend, as in a container, the runtime
// that gets SIGTERM (what a kubelet or `docker stop` sends) with work
// pending refuses new activations and exits 0 only once that work is done.
// The work is held at a gate until the drain has begun.
func TestSignalDrains(t *testing.T) {
	b := newTestBackend(t)
	c, err := b.Create(testCtx(t), backend.Spec{Name: "wsk0_1_guest_drain", Image: image})
	require.NoError(t, err)
	initFixture(t, c)
	pid, _ := strconv.Atoi(c.ID())
	g := testenv.NewGate(t)
	run := func(id string, value string) *http.Response {
		t.Helper()
		deadline := time.Now().Add(testBound).UnixMilli()
		body := fmt.Sprintf(`{"value":%s,"activation_id":%q,"deadline":"%d"}`, value, id, deadline)
		resp, err := hc.Post("http://"+c.Addr()+"/run", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	require.Equal(t, http.StatusOK, run("drain-1", fmt.Sprintf(`{"linger_ms":1,"quiet":true,"gate":%q}`, g.URL("drain-1"))).StatusCode)
	g.WaitArrived(t, "drain-1", testBound)

	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	var snap completion.Snapshot
	require.Eventually(t, func() bool {
		resp, err := hc.Get("http://" + c.Addr() + completion.StatusPath)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(&snap) == nil && snap.Draining
	}, testBound, 10*time.Millisecond, "the runtime never said it was draining")
	require.Len(t, snap.Activations, 1)
	assert.Equal(t, completion.PhaseResponded, snap.Activations[0].Phase, "the work was not pending when the drain began")
	assert.Equal(t, http.StatusServiceUnavailable, run("late", `{"quiet":true}`).StatusCode, "a /run during the drain")
	select {
	case <-c.(*container).exited:
		t.Fatal("the runtime exited while its work was held")
	default:
	}

	g.Open("drain-1")
	select {
	case <-c.(*container).exited:
	case <-time.After(testBound):
		t.Fatal("the runtime did not exit once its work was done")
	}
	assert.NoError(t, c.(*container).waitErr, "the drained runtime's exit")
	require.NoError(t, c.Remove(testCtx(t)))
}
