package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/api"
	"github.com/epilogue-dev/epilogue/standalone/backend/docker"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// Bounds of the standalone tests: far above a busy machine's delays, and
// none waited out when the tests pass.
const (
	serverBound = 2 * time.Minute // start or stop a server
	apiBound    = 2 * time.Minute // one API request, blocking invokes included
	recordBound = 2 * time.Minute // an activation's final record is stored
	pollGap     = 20 * time.Millisecond
	guestAuth   = api.GuestUUID + ":" + api.GuestKey
	// wskUserAgent is the User-Agent the wsk CLI sends.
	wskUserAgent = "OpenWhisk-CLI/1.0 (not set) linux amd64"
)

// backends are the two places containers run; both pass the same tests.
var backends = []string{standalone.BackendProcess, standalone.BackendDocker}

// zips builds an action directory once per test binary, as `epilogue build`.
var zips struct {
	mu    sync.Mutex
	built map[string][]byte
}

func actionZip(t *testing.T, dir string) []byte {
	t.Helper()
	zips.mu.Lock()
	defer zips.mu.Unlock()
	if z, ok := zips.built[dir]; ok {
		return z
	}
	ctx, cancel := context.WithTimeout(context.Background(), exampleBuildBound)
	defer cancel()
	out := filepath.Join(t.TempDir(), "action.zip")
	_, err := actionbuild.Build(ctx, actionbuild.Options{Dir: filepath.Join("..", "..", dir), Output: out})
	require.NoError(t, err, "build %s", dir)
	z, err := os.ReadFile(out)
	require.NoError(t, err)
	if zips.built == nil {
		zips.built = map[string][]byte{}
	}
	zips.built[dir] = z
	return z
}

// server is one `epilogue standalone`, run in this process.
type server struct {
	url    string
	data   string
	cancel context.CancelFunc
	done   chan error
	hc     *http.Client
}

// startServer runs standalone.Run on a free loopback port with the given
// backend; cfg's listener, backend and data directory are filled in (a
// given DataDir is kept). It is stopped when the test ends.
func startServer(t *testing.T, backendName string, cfg standalone.Config) *server {
	t.Helper()
	cfg.Backend = backendName
	switch backendName {
	case standalone.BackendProcess:
		cfg.ProxyPath = testenv.BuildStatic(t, "./cmd/epilogue-proxy")
	case standalone.BackendDocker:
		cli := testenv.RequireDocker(t)
		testenv.RequireImage(t, cli, "epilogue/action-go:latest")
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		cfg.DockerNamePrefix = "wsk96x" + hex.EncodeToString(b) + "_"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cfg.Listener = ln
	ready := make(chan string, 1)
	cfg.Ready = func(url string) { ready <- url }
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{data: cfg.DataDir, cancel: cancel, done: make(chan error, 1), hc: &http.Client{Timeout: apiBound}}
	go func() { s.done <- standalone.Run(ctx, cfg) }()
	select {
	case s.url = <-ready:
	case err := <-s.done:
		t.Fatalf("standalone did not start: %v", err)
	case <-time.After(serverBound):
		t.Fatalf("standalone did not start within %s", serverBound)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop shuts the server down and checks that it ended cleanly; it may be
// called more than once.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		assert.NoError(t, err, "standalone.Run")
	case <-time.After(serverBound + standalone.DefaultShutdownTimeout):
		t.Errorf("standalone did not stop")
	}
}

// apiReply is one API exchange.
type apiReply struct {
	status int
	header http.Header
	body   string
}

// wsk sends a request exactly as the wsk CLI does: Basic
// auth, its User-Agent, Accept-Encoding gzip, Content-Type only with a body.
func (s *server) wsk(t *testing.T, method, path, body string) apiReply {
	t.Helper()
	headers := []string{
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(guestAuth)),
		"User-Agent: " + wskUserAgent,
		"Accept-Encoding: gzip",
	}
	if body != "" {
		headers = append(headers, "Content-Type: application/json")
	}
	return s.send(t, s.hc, method, path, body, headers...)
}

// send is one exchange through hc, with headers given as "Name: value".
func (s *server) send(t *testing.T, hc *http.Client, method, path, body string, headers ...string) apiReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	require.NoError(t, err)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return apiReply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (s *server) client(t *testing.T) *whisk.Client {
	t.Helper()
	c, err := whisk.NewClient(&http.Client{Timeout: apiBound}, &whisk.Config{Host: s.url, AuthToken: guestAuth, Namespace: "_", Insecure: true})
	require.NoError(t, err)
	return c
}

func (s *server) poolSnapshot(t *testing.T) pool.Snapshot {
	t.Helper()
	resp, err := s.hc.Get(s.url + standalone.PoolPath)
	require.NoError(t, err)
	defer resp.Body.Close()
	var snap pool.Snapshot
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&snap))
	return snap
}

// finalRecord polls the activation until its completion annotation is set.
func (s *server) finalRecord(t *testing.T, id string) entity.Activation {
	t.Helper()
	var rec entity.Activation
	require.Eventuallyf(t, func() bool {
		r := s.wsk(t, "GET", "/api/v1/namespaces/_/activations/"+id, "")
		if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &rec) != nil {
			return false
		}
		_, ok := rec.Annotations.Get(entity.AnnotationCompletion)
		return ok
	}, recordBound, pollGap, "activation %s never got its completion annotation", id)
	return rec
}

func decodeMap(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m), "%s", body)
	return m
}

// TestStandaloneWsk replays the wsk CLI's requests against a real standalone
// on each backend, with a real action, and checks what wsk reads from each
// answer.
func TestStandaloneWsk(t *testing.T) {
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, be, standalone.Config{})
			replayWsk(t, s, zip)
		})
	}
}

func replayWsk(t *testing.T, s *server, zip string) {
	const actions = "/api/v1/namespaces/_/actions"
	const activations = "/api/v1/namespaces/_/activations"
	start := time.Now().UnixMilli()

	// wsk action create myact --docker epilogue/action-go:latest action.zip -m 256 -t 30000 -l 5 -c 1 --main main
	r := s.wsk(t, "PUT", actions+"/myact?overwrite=false",
		`{"namespace":"_","name":"myact","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go:latest","main":"main"},"limits":{"timeout":30000,"memory":256,"logs":5,"concurrency":1}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	m := decodeMap(t, r.body)
	assert.Equal(t, "myact", m["name"])
	assert.Equal(t, "guest", m["namespace"])
	assert.NotContains(t, m["exec"], "code", "code=false by default")
	assert.Equal(t, true, m["exec"].(map[string]any)["binary"])

	r = s.wsk(t, "PUT", actions+"/myact?overwrite=false", `{"namespace":"_","name":"myact","exec":{"kind":"blackbox","image":"epilogue/action-go"}}`)
	assertWskError(t, r, http.StatusConflict)

	// wsk action invoke myact -b -r -p k v -p n 3
	r = s.wsk(t, "POST", actions+"/myact?blocking=true&result=true", `{"k":"v","n":3}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"k":"v","n":3}`, r.body, "result=true answers the result alone")

	// wsk action invoke myact -b
	r = s.wsk(t, "POST", actions+"/myact?blocking=true&result=false", `{}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	act := decodeMap(t, r.body)
	id := act["activationId"].(string)
	assert.Regexp(t, `^[0-9a-f]{32}$`, id)
	assert.Equal(t, id, r.header.Get(api.HeaderActivationID))
	assert.Equal(t, map[string]any{"status": "success", "success": true, "result": map[string]any{}}, act["response"])
	for _, k := range []string{"namespace", "name", "start", "end", "duration", "logs", "annotations", "version", "subject"} {
		assert.Contains(t, act, k)
	}

	// wsk action invoke myact -p x '{"a":1}'  (non-blocking)
	r = s.wsk(t, "POST", actions+"/myact?blocking=false&result=false", `{"x":{"a":1}}`)
	require.Equal(t, http.StatusAccepted, r.status, r.body)
	async := decodeMap(t, r.body)["activationId"].(string)
	rec := s.finalRecord(t, async)
	assert.JSONEq(t, `{"x":{"a":1}}`, string(rec.Response.Result))

	// wsk activation get / logs / result
	r = s.wsk(t, "GET", activations+"/"+id, "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	got := decodeMap(t, r.body)
	assert.Equal(t, id, got["activationId"])
	assert.Contains(t, got["annotations"], map[string]any{"key": "kind", "value": "blackbox"})
	assert.Contains(t, got["annotations"], map[string]any{"key": "path", "value": "guest/myact"})
	assert.Contains(t, got["annotations"], map[string]any{"key": "completion", "value": "done"})

	r = s.wsk(t, "GET", activations+"/"+id+"/logs", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	var logs struct{ Logs []string }
	require.NoError(t, json.Unmarshal([]byte(r.body), &logs))
	require.Len(t, logs.Logs, 2, "%q", logs.Logs)
	for _, l := range logs.Logs {
		assert.Regexp(t, `^\S+Z (stdout: hello stdout|stderr: hello stderr)$`, l)
	}

	r = s.wsk(t, "GET", activations+"/"+id+"/result", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.JSONEq(t, `{"status":"success","success":true,"result":{}}`, r.body)

	// wsk activation list; get --last; list myact --limit 5 --skip 0 --since --upto
	r = s.wsk(t, "GET", activations+"?limit=30&skip=0", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	var list []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.body), &list))
	require.Len(t, list, 3)
	for _, a := range list {
		assert.Contains(t, a, "statusCode")
		assert.NotContains(t, a, "logs", "the list is a summary")
	}
	r = s.wsk(t, "GET", activations+"?limit=1&skip=0", "")
	require.NoError(t, json.Unmarshal([]byte(r.body), &list))
	require.Len(t, list, 1)
	assert.Equal(t, async, list[0]["activationId"], "the newest first")
	r = s.wsk(t, "GET", fmt.Sprintf("%s?limit=5&name=myact&since=%d&skip=1&upto=%d", activations, start, time.Now().UnixMilli()), "")
	require.NoError(t, json.Unmarshal([]byte(r.body), &list))
	assert.Len(t, list, 2)

	// wsk action list / get
	r = s.wsk(t, "GET", actions+"?limit=30&skip=0", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Contains(t, r.body, `"name":"myact"`)
	assertWskError(t, s.wsk(t, "GET", actions+"/missing?code=false", ""), http.StatusNotFound)

	// An image this backend cannot run: a developer error (wsk exits 246)
	// whose message says what to do. The action lives in a package (wsk
	// package create first: an action in a missing package is a 404).
	r = s.wsk(t, "PUT", "/api/v1/namespaces/guest/actions/nopkg/qa?overwrite=false",
		`{"namespace":"guest","name":"nopkg/qa","exec":{"kind":"blackbox","code":"#!/bin/sh\necho hi\n","image":"example/img"}}`)
	assertWskError(t, r, http.StatusNotFound)
	r = s.wsk(t, "PUT", "/api/v1/namespaces/guest/packages/pkg?overwrite=false", `{"namespace":"guest","name":"pkg"}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = s.wsk(t, "PUT", "/api/v1/namespaces/guest/actions/pkg/qa?overwrite=false",
		`{"namespace":"guest","name":"pkg/qa","exec":{"kind":"blackbox","code":"#!/bin/sh\necho hi\n","image":"example/img"}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = s.wsk(t, "POST", "/api/v1/namespaces/guest/actions/pkg/qa?blocking=true&result=false", `{}`)
	require.Equal(t, http.StatusBadGateway, r.status, r.body)
	assert.Equal(t, "action developer error", decodeMap(t, r.body)["response"].(map[string]any)["status"])
	assert.Contains(t, r.body, "example/img")

	// A crash: 502 and the activation (wsk exits 246).
	r = s.wsk(t, "POST", actions+"/myact?blocking=true&result=false", `{"crash":true}`)
	require.Equal(t, http.StatusBadGateway, r.status, r.body)
	assert.Equal(t, "action developer error", decodeMap(t, r.body)["response"].(map[string]any)["status"])

	// The controller's timeout parameter: not done in time → 202 and the id.
	r = s.wsk(t, "POST", actions+"/myact?blocking=true&result=false&timeout=200", `{"sleep_ms":1500}`)
	require.Equal(t, http.StatusAccepted, r.status, r.body)
	slow := decodeMap(t, r.body)["activationId"].(string)
	assert.Equal(t, "success", s.finalRecord(t, slow).Response.Status.String())

	// wsk action update myact --docker epilogue/action-go:latest: GET, then
	// PUT with the new exec, which has no code, so /init fails.
	r = s.wsk(t, "GET", actions+"/myact?code=false", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	r = s.wsk(t, "PUT", actions+"/myact?overwrite=true", `{"namespace":"_","name":"myact","exec":{"kind":"blackbox","image":"epilogue/action-go:latest"}}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "0.0.2", decodeMap(t, r.body)["version"])
	r = s.wsk(t, "POST", actions+"/myact?blocking=true&result=true", `{}`)
	require.Equal(t, http.StatusBadGateway, r.status, r.body)
	assert.JSONEq(t, `{"error":"Missing main/no code to execute."}`, r.body, "result=true: the error result alone")

	// wsk action delete myact; delete missing
	r = s.wsk(t, "DELETE", actions+"/myact", "")
	require.Equal(t, http.StatusOK, r.status, r.body)
	assertWskError(t, s.wsk(t, "DELETE", actions+"/myact", ""), http.StatusNotFound)
}

// assertWskError checks an error answer the way wsk reads it: status, and
// both "error" and "code" (without code wsk prints a generic message).
func assertWskError(t *testing.T, r apiReply, status int) {
	t.Helper()
	require.Equal(t, status, r.status, r.body)
	m := decodeMap(t, r.body)
	assert.NotEmpty(t, m["error"])
	assert.NotEmpty(t, m["code"])
}

// TestStandaloneClientGo drives a real standalone with openwhisk-client-go.
func TestStandaloneClientGo(t *testing.T) {
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, be, standalone.Config{})
			c := s.client(t)
			timeout, memory := 30000, 256
			_, _, err := c.Actions.Insert(&whisk.Action{Name: "hello",
				Exec:   &whisk.Exec{Kind: "blackbox", Image: "epilogue/action-go:latest", Code: &zip},
				Limits: &whisk.Limits{Timeout: &timeout, Memory: &memory}}, true)
			require.NoError(t, err)

			res, resp, err := c.Actions.Invoke("hello", map[string]any{"k": "v"}, true, false)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			id := res.(map[string]any)["activationId"].(string)

			res, _, err = c.Actions.Invoke("hello", map[string]any{"k": "v"}, true, true)
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"k": "v"}, res)

			_, _, err = c.Actions.Invoke("hello", map[string]any{"crash": true}, true, false)
			var werr *whisk.WskError
			require.ErrorAs(t, err, &werr)
			assert.Equal(t, 502-256, werr.ExitCode)

			act, _, err := c.Activations.Get(id)
			require.NoError(t, err)
			assert.Equal(t, "success", act.Response.Status)
			assert.True(t, act.Response.Success)
			assert.Len(t, act.Logs, 2)
			assert.Equal(t, act.End-act.Start, act.Duration)

			logs, _, err := c.Activations.Logs(id)
			require.NoError(t, err)
			assert.Len(t, logs.Logs, 2)
			result, _, err := c.Activations.Result(id)
			require.NoError(t, err)
			assert.Equal(t, map[string]any{"k": "v"}, result.Result)

			list, _, err := c.Activations.List(&whisk.ActivationListOptions{Name: "hello", Limit: 10})
			require.NoError(t, err)
			assert.Len(t, list, 3)
		})
	}
}

// TestStandaloneRestart: actions and activations survive a restart with
// the same --data directory, and the action runs again afterwards.
func TestStandaloneRestart(t *testing.T) {
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			first := startServer(t, be, standalone.Config{DataDir: data})
			r := first.wsk(t, "PUT", "/api/v1/namespaces/_/actions/kept?overwrite=false",
				`{"name":"kept","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go"}}`)
			require.Equal(t, http.StatusOK, r.status, r.body)
			r = first.wsk(t, "POST", "/api/v1/namespaces/_/actions/kept?blocking=true", `{"linger_ms":300}`)
			require.Equal(t, http.StatusOK, r.status, r.body)
			id := decodeMap(t, r.body)["activationId"].(string)
			first.stop(t) // waits for the lingering work, then removes the containers

			second := startServer(t, be, standalone.Config{DataDir: data})
			rec := second.finalRecord(t, id)
			c, _ := rec.Annotations.GetString(entity.AnnotationCompletion)
			assert.Equal(t, "done", c, "the shutdown let the lingering work finish")
			r = second.wsk(t, "POST", "/api/v1/namespaces/_/actions/kept?blocking=true&result=true", `{"again":true}`)
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.JSONEq(t, `{"again":true}`, r.body)
		})
	}
}

// TestStandaloneSemantics runs examples/async-write, which acknowledges and
// then writes to a real redis-server, with the container paused the moment
// the answer is out: under epilogue the write lands; under vanilla it is
// frozen, then removed with its container, and the record cannot tell.
// The write is held at a gate the test opens, so the acknowledgement is
// shown to come first however slow the machine, not timed against a delay.
func TestStandaloneSemantics(t *testing.T) {
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "examples/async-write"))
	for _, be := range backends {
		for _, policy := range []reclaim.Policy{reclaim.Epilogue, reclaim.Vanilla} {
			t.Run(be+"/"+string(policy), func(t *testing.T) {
				t.Parallel()
				host := "127.0.0.1"
				if be == standalone.BackendDocker {
					ctx, cancel := context.WithTimeout(context.Background(), apiBound)
					gw, err := docker.Gateway(ctx, testenv.RequireDocker(t), "bridge")
					cancel()
					require.NoError(t, err)
					host = gw // where the containers reach the test's servers
				}
				addr := testenv.RequireRedisOn(t, host)
				g := testenv.NewGateOn(t, host)
				s := startServer(t, be, standalone.Config{Pool: pool.Config{
					Policy: policy, PauseGrace: pool.Immediately, IdleTimeout: 300 * time.Millisecond, Prewarm: 0,
				}})
				r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/async-write?overwrite=false",
					`{"name":"async-write","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go"}}`)
				require.Equal(t, http.StatusOK, r.status, r.body)

				r = s.wsk(t, "POST", "/api/v1/namespaces/_/actions/async-write?blocking=true",
					fmt.Sprintf(`{"id":"order-1","redis":%q,"gate":%q}`, addr, g.URL("write")))
				// The gate is still closed: the acknowledgement did not wait for the write.
				require.Equal(t, http.StatusOK, r.status, r.body)
				act := decodeMap(t, r.body)
				assert.Equal(t, map[string]any{"acknowledged": "order-1"}, act["response"].(map[string]any)["result"])
				id := act["activationId"].(string)

				rdb := redis.NewClient(&redis.Options{Addr: addr})
				t.Cleanup(func() { _ = rdb.Close() })
				landed := func() bool {
					ctx, cancel := context.WithTimeout(context.Background(), apiBound)
					defer cancel()
					n, err := rdb.Exists(ctx, "epilogue:ack:order-1").Result()
					require.NoError(t, err)
					return n == 1
				}
				assert.False(t, landed(), "the write landed while its gate was closed")
				if policy == reclaim.Epilogue {
					// Nothing froze the container: the write reaches its gate.
					g.WaitArrived(t, "write", recordBound)
					g.Open("write")
					rec := s.finalRecord(t, id)
					c, _ := rec.Annotations.GetString(entity.AnnotationCompletion)
					assert.Equal(t, "done", c)
					assert.True(t, landed(), "the acknowledged write landed")
					post, _ := rec.Annotations.Get(entity.AnnotationPostResponseDuration)
					assert.NotEqual(t, "0", string(post))
					return
				}
				// Vanilla: paused at once, removed after the idle timeout;
				// the gate opens only when the container holding the write
				// is gone.
				require.Eventually(t, func() bool {
					st := s.poolSnapshot(t).Stats
					return st.Pauses >= 1 && st.Removals >= 1
				}, recordBound, pollGap)
				g.Open("write")
				assert.False(t, landed(), "stock semantics lose the acknowledged write")
				r = s.wsk(t, "GET", "/api/v1/namespaces/_/activations/"+id, "")
				require.Equal(t, http.StatusOK, r.status)
				assert.NotContains(t, r.body, `"completion"`, "nothing records the loss")
				assert.True(t, bytes.Contains([]byte(r.body), []byte(`"success":true`)))
			})
		}
	}
}
