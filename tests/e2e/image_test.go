package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/standalone/backend/docker"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

const (
	imageRef = "epilogue/action-go:latest"
	sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
	apiHost  = "https://e2e-apihost.invalid:443"
	// labelKey marks the containers of this package, so that leftovers of
	// an interrupted run can be found and removed.
	labelKey = "dev.epilogue.e2e"
	// phaseHeader is the proxy's response header with the activation's phase.
	phaseHeader = "X-Epilogue-Phase"
)

// Bounds. Every wait in this file is bounded by one of these: far above a
// busy machine's delays, and none waited out when the test passes.
const (
	testBound    = 4 * time.Minute // the whole test
	dockerBound  = 2 * time.Minute // one Docker API call (cleanup)
	initRetryFor = 2 * time.Minute // /init retried on connection refused, as the invoker does
	initRetryGap = 50 * time.Millisecond
	requestBound = 2 * time.Minute  // one HTTP exchange with the proxy
	logSettle    = time.Minute      // the json-file log catches up
	staleAfter   = 10 * time.Minute // leftover containers older than this are removed
	lingerMs     = 1                // then the work waits at the test's gate
)

// TestImage starts epilogue/action-go as OpenWhisk's DockerContainerFactory
// does, initialises the fixture action through the bridge network, runs it
// (echo, environment, post-response work), checks the json-file log the
// invoker would collect, and survives pause and unpause.
func TestImage(t *testing.T) {
	cli := testenv.RequireDocker(t)
	testenv.RequireImage(t, cli, imageRef)

	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()

	gw, err := docker.Gateway(ctx, cli, "bridge")
	require.NoError(t, err)
	g := testenv.NewGateOn(t, gw) // where the container reaches the test

	c := startActionContainer(ctx, t, cli)
	rt := newRuntime(t, "http://"+net.JoinHostPort(c.ip, "8080"))
	deadline := strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)

	initTestAction(ctx, t, rt)

	// 1. Echo: the value comes back byte for byte, with a trailing newline
	// as upstream, and an exact Content-Length.
	echo := `{"greeting":"hello ☃","n":[1,2.5,{"deep":null}],"s":"a\"b\\c"}`
	id1 := newActivationID(t)
	r := rt.run(ctx, id1, deadline, echo)
	require.Equalf(t, http.StatusOK, r.status, "/run echo: %s", r)
	assert.Equal(t, echo+"\n", string(r.body))
	assert.Equal(t, int64(len(r.body)), r.contentLength, "Content-Length")
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Equal(t, "done", r.header.Get(phaseHeader))

	// 2. Post-response work: the answer comes while the work is held at
	// the test's gate; the activation is done once the gate has opened.
	id2 := newActivationID(t)
	r = rt.run(ctx, id2, deadline, fmt.Sprintf(`{"linger_ms":%d,"gate":%q}`, lingerMs, g.URL("linger")))
	received := time.Now()
	require.Equalf(t, http.StatusOK, r.status, "/run linger: %s", r)
	assert.Equal(t, fmt.Sprintf(`{"accepted":true,"linger_ms":%d}`, lingerMs)+"\n", string(r.body))
	assert.Equal(t, int64(len(r.body)), r.contentLength, "Content-Length")
	assert.Equal(t, "responded", r.header.Get(phaseHeader))
	g.WaitArrived(t, "linger", requestBound)
	g.Open("linger")
	opened := time.Now()

	r = rt.get(ctx, completion.AwaitPath+"?activation="+id2+"&timeout=2m")
	require.Equalf(t, http.StatusOK, r.status, "/epilogue/await: %s", r)
	var rec struct {
		ID             string  `json:"id"`
		Phase          string  `json:"phase"`
		PostResponseMs float64 `json:"postResponseMs"`
	}
	require.NoErrorf(t, json.Unmarshal(r.body, &rec), "/epilogue/await: %s", r)
	assert.Equal(t, id2, rec.ID)
	assert.Equal(t, "done", rec.Phase)
	// The proxy answered before the test received the answer and the work
	// ended after the gate opened (one host clock for both).
	assert.GreaterOrEqualf(t, rec.PostResponseMs, float64(opened.Sub(received))/float64(time.Millisecond), "postResponseMs in %s", r.body)

	// The log as the invoker reads it: one sentinel per /run on each
	// stream; the lingering line comes after the second sentinel, tagged.
	lingering := lingeringLine(id2)
	stdout, stderr := c.waitLogs(ctx, t, 2, lingering)
	assert.Equal(t, 2, countLines(stdout, sentinel), "sentinels on stdout:\n%s", stdout)
	assert.Equal(t, 2, countLines(stderr, sentinel), "sentinels on stderr:\n%s", stderr)
	assertAfterSentinel(t, stdout, lingering, 2)

	// 3. The container environment reaches the action.
	id3 := newActivationID(t)
	r = rt.run(ctx, id3, deadline, `{"env":true}`)
	require.Equalf(t, http.StatusOK, r.status, "/run env: %s", r)
	var env map[string]string
	require.NoErrorf(t, json.Unmarshal(r.body, &env), "/run env: %s", r)
	assert.Equal(t, apiHost, env["__OW_API_HOST"], "__OW_API_HOST")
	assert.Equal(t, id3, env["__OW_ACTIVATION_ID"], "__OW_ACTIVATION_ID")
	assert.Equal(t, deadline, env["__OW_DEADLINE"], "__OW_DEADLINE")

	r = rt.get(ctx, completion.StatusPath)
	require.Equalf(t, http.StatusOK, r.status, "/epilogue/status: %s", r)
	var status struct {
		State    string `json:"state"`
		Protocol string `json:"protocol"`
	}
	require.NoErrorf(t, json.Unmarshal(r.body, &status), "/epilogue/status: %s", r)
	assert.Equal(t, "idle", status.State, "state in %s", r.body)
	assert.Truef(t, strings.HasPrefix(status.Protocol, "epilogue/"), "protocol in %s: the extension was not negotiated (OW_WAIT_FOR_ACK from the image?)", r.body)

	// 4. Pause (as after pause-grace) and unpause (as on the next
	// activation): the warm action still answers.
	require.NoError(t, cli.ContainerPause(ctx, c.id))
	require.True(t, c.inspect(ctx, t).State.Paused, "State.Paused after ContainerPause")
	pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = rt.do(pctx, http.MethodGet, completion.StatusPath, nil)
	pcancel()
	assert.Error(t, err, "a paused container answered")
	require.NoError(t, cli.ContainerUnpause(ctx, c.id))
	require.False(t, c.inspect(ctx, t).State.Paused, "State.Paused after ContainerUnpause")

	id4 := newActivationID(t)
	r = rt.run(ctx, id4, deadline, echo)
	require.Equalf(t, http.StatusOK, r.status, "/run after unpause: %s", r)
	assert.Equal(t, echo+"\n", string(r.body))
	assert.Equal(t, int64(len(r.body)), r.contentLength, "Content-Length")

	// The whole log, exactly.
	stdout, stderr = c.waitLogs(ctx, t, 4, lingering)
	s := sentinel + "\n"
	assert.Equal(t, "hello stdout\n"+s+"hello stdout\n"+s+lingering+"\n"+"hello stdout\n"+s+"hello stdout\n"+s, stdout, "stdout")
	assert.Equal(t, strings.Repeat("hello stderr\n"+s, 4), stderr, "stderr")
}

// actionContainer is one running action container.
type actionContainer struct {
	cli *client.Client
	id  string
	ip  string
}

// startActionContainer creates and starts a container of imageRef with the
// parameters OpenWhisk's invoker gives its `docker run`, and env (the
// invoker's extra environment variables) beside __OW_API_HOST, and returns
// it with its bridge address. It is force-removed when the test ends.
func startActionContainer(ctx context.Context, t *testing.T, cli *client.Client, env ...string) *actionContainer {
	t.Helper()
	removeStale(ctx, t, cli)

	// wsk<instance>_<counter>_<namespace>_<action>; instance 99 keeps clear
	// of the wsk0_ prefix a local invoker would clean up.
	name := fmt.Sprintf("wsk99_%d%d_guest_e2e_%s", os.Getpid(), time.Now().UnixNano()%1e9, strings.ToLower(t.Name()))
	pids := int64(1024)
	created, err := cli.ContainerCreate(ctx,
		&container.Config{
			Image:  imageRef,
			Env:    append([]string{"__OW_API_HOST=" + apiHost}, env...),
			Labels: map[string]string{labelKey: "1", labelKey + ".test": t.Name()},
		},
		&container.HostConfig{
			NetworkMode: "bridge",
			LogConfig:   container.LogConfig{Type: "json-file"},
			CapDrop:     []string{"NET_RAW", "NET_ADMIN"},
			Resources: container.Resources{
				CPUShares:  256,
				Memory:     256 << 20,
				MemorySwap: 256 << 20,
				PidsLimit:  &pids,
				Ulimits:    []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 1024}},
			},
		},
		nil, nil, name)
	require.NoErrorf(t, err, "create container %s", name)
	c := &actionContainer{cli: cli, id: created.ID}
	removeWhenDone(t, cli, name, true)

	require.NoError(t, cli.ContainerStart(ctx, c.id, container.StartOptions{}))
	info := c.inspect(ctx, t)
	require.Truef(t, info.State.Running, "container %s is not running: %+v", name, info.State)
	require.Containsf(t, info.Config.Env, "OW_WAIT_FOR_ACK=1", "image environment")
	ep := info.NetworkSettings.Networks["bridge"]
	require.NotNil(t, ep, "no bridge network endpoint")
	require.NotEmpty(t, ep.IPAddress, "no bridge IP address")
	c.ip = ep.IPAddress
	return c
}

// removeWhenDone force-removes container ref (an id or a name) when the
// test ends, unpausing it first as the invoker does; before that, when the
// test failed and logOnFailure is set, it logs the container's output.
func removeWhenDone(t *testing.T, cli *client.Client, ref string, logOnFailure bool) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dockerBound)
		defer cancel()
		_ = cli.ContainerUnpause(ctx, ref) // as the invoker: unpause, then rm -f
		err := cli.ContainerRemove(ctx, ref, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove container %s: %v", ref, err)
		}
	})
	if !logOnFailure {
		return
	}
	t.Cleanup(func() { // runs first: the log of a failed test
		if t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), dockerBound)
			defer cancel()
			c := &actionContainer{cli: cli, id: ref}
			stdout, stderr, err := c.logs(ctx)
			if cerrdefs.IsNotFound(err) {
				return // the test removed it, as it should
			}
			t.Logf("container %s log (err %v):\n--- stdout\n%s--- stderr\n%s", ref, err, stdout, stderr)
		}
	})
}

// removeStale removes containers of this package left by an interrupted run.
func removeStale(ctx context.Context, t *testing.T, cli *client.Client) {
	t.Helper()
	list, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelKey))})
	require.NoError(t, err)
	for _, s := range list {
		if time.Since(time.Unix(s.Created, 0)) > staleAfter {
			_ = cli.ContainerUnpause(ctx, s.ID)
			if err := cli.ContainerRemove(ctx, s.ID, container.RemoveOptions{Force: true}); err == nil {
				t.Logf("removed stale container %s %v", s.ID[:12], s.Names)
			}
		}
	}
}

func (c *actionContainer) inspect(ctx context.Context, t *testing.T) container.InspectResponse {
	t.Helper()
	info, err := c.cli.ContainerInspect(ctx, c.id)
	require.NoError(t, err)
	return info
}

// logs reads the container's whole log, demultiplexed.
func (c *actionContainer) logs(ctx context.Context) (stdout, stderr string, err error) {
	rc, err := c.cli.ContainerLogs(ctx, c.id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", "", err
	}
	defer rc.Close()
	var o, e bytes.Buffer
	_, err = stdcopy.StdCopy(&o, &e, rc)
	return o.String(), e.String(), err
}

// waitLogs polls the log until both streams hold sentinels sentinels and
// stdout holds the line want (the daemon writes the log asynchronously), at
// most logSettle, and returns it as last read.
func (c *actionContainer) waitLogs(ctx context.Context, t *testing.T, sentinels int, want string) (stdout, stderr string) {
	t.Helper()
	until := time.Now().Add(logSettle)
	for {
		var err error
		stdout, stderr, err = c.logs(ctx)
		require.NoError(t, err)
		settled := countLines(stdout, sentinel) >= sentinels && countLines(stderr, sentinel) >= sentinels &&
			countLines(stdout, want) > 0
		if settled || time.Now().After(until) {
			return stdout, stderr
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func countLines(s, line string) int {
	n := 0
	for _, l := range lines(s) {
		if l == line {
			n++
		}
	}
	return n
}

// assertAfterSentinel checks that line appears in log after its n-th
// sentinel line.
func assertAfterSentinel(t *testing.T, log, line string, n int) {
	t.Helper()
	ls := lines(log)
	at := slices.Index(ls, line)
	if !assert.GreaterOrEqualf(t, at, 0, "%q is not in the log:\n%s", line, log) {
		return
	}
	seen := 0
	for _, l := range ls[:at] {
		if l == sentinel {
			seen++
		}
	}
	assert.Equalf(t, n, seen, "%q follows %d sentinels; want %d:\n%s", line, seen, n, log)
}

// lingeringLine is what the fixture action writes once an activation's
// work after the response has passed its gate, as the proxy tags it.
func lingeringLine(activationID string) string {
	return "[activation " + activationID + "] lingering " + activationID
}

// initTestAction posts the fixture action's /init, as the invoker does
// after docker run: retried while the port refuses connections.
func initTestAction(ctx context.Context, t *testing.T, rt *runtime) {
	t.Helper()
	code, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"value": map[string]any{
		"name": "t", "main": "main", "binary": true, "code": base64.StdEncoding.EncodeToString(code),
	}})
	require.NoError(t, err)
	r := rt.initWithRetry(ctx, body)
	require.Equalf(t, http.StatusOK, r.status, "/init: %s", r)
	assert.JSONEq(t, `{"ok":true}`, string(r.body), "/init")
}

func newActivationID(t *testing.T) string {
	b := make([]byte, 16)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// runtime talks to the proxy in the container as the invoker does.
type runtime struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newRuntime(t *testing.T, base string) *runtime {
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 30 * time.Second}).DialContext, MaxIdleConnsPerHost: 2}
	t.Cleanup(tr.CloseIdleConnections)
	return &runtime{t: t, base: base, hc: &http.Client{Transport: tr, Timeout: requestBound}}
}

// reply is one HTTP exchange.
type reply struct {
	status        int
	header        http.Header
	contentLength int64
	body          []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %q", r.status, r.body) }

func (rt *runtime) do(ctx context.Context, method, path string, body []byte) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rt.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := rt.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, contentLength: resp.ContentLength, body: b}, nil
}

// initWithRetry posts /init, retrying every 50 ms while the connection is
// refused or the host unreachable (the proxy is still starting), for at
// most initRetryFor.
func (rt *runtime) initWithRetry(ctx context.Context, body []byte) reply {
	rt.t.Helper()
	until := time.Now().Add(initRetryFor)
	for {
		r, err := rt.do(ctx, http.MethodPost, "/init", body)
		if err == nil {
			return r
		}
		retry := errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH)
		require.Truef(rt.t, retry && time.Now().Before(until), "POST /init: %v", err)
		time.Sleep(initRetryGap)
	}
}

func (rt *runtime) run(ctx context.Context, activationID, deadline, value string) reply {
	rt.t.Helper()
	body, err := json.Marshal(map[string]any{
		"value":          json.RawMessage(value),
		"namespace":      "guest",
		"action_name":    "/guest/e2e",
		"action_version": "0.0.1",
		"activation_id":  activationID,
		"transaction_id": "e2e-" + activationID[:8],
		"deadline":       deadline,
	})
	require.NoError(rt.t, err)
	r, err := rt.do(ctx, http.MethodPost, "/run", body)
	require.NoErrorf(rt.t, err, "POST /run %s", value)
	return r
}

func (rt *runtime) get(ctx context.Context, path string) reply {
	rt.t.Helper()
	r, err := rt.do(ctx, http.MethodGet, path, nil)
	require.NoErrorf(rt.t, err, "GET %s", path)
	return r
}
