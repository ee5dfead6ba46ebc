package invokershim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

func TestRouter(t *testing.T) {
	rt, err := newRouter(nil)
	require.NoError(t, err)
	tests := []struct {
		method, path string
		ok           bool
		handling     handling
		container    string
	}{
		{"HEAD", "/_ping", true, handling{}, ""},
		{"GET", "/v1.43/version", true, handling{}, ""},
		{"POST", "/v1.43/containers/create?name=wsk0_1_guest_a", true, handling{kind: creation}, ""},
		{"POST", "/v1.41/containers/abc/pause", true, handling{deferrable, pauseOp}, "abc"},
		{"POST", "/containers/abc/unpause", true, handling{kind: unpausing}, "abc"},
		{"DELETE", "/v1.43/containers/abc?force=1", true, handling{deferrable, removeOp}, "abc"},
		{"POST", "/v1.43/containers/abc/kill?signal=KILL", true, handling{deferrable, killOp}, "abc"},
		{"POST", "/v1.43/containers/abc/stop?t=10", true, handling{deferrable, stopOp}, "abc"},
		{"POST", "/v1.43/containers/abc/wait?condition=next-exit", true, handling{}, "abc"},
		{"GET", "/v1.43/containers/json?all=1", true, handling{}, ""},
		{"GET", "/v1.43/images/epilogue/action-go:latest/json", true, handling{}, ""},
		{"POST", "/v1.43/images/create?fromImage=x", true, handling{}, ""},
		{"POST", "/v1.43/containers/abc/exec", false, handling{}, ""},
		{"GET", "/v1.43/containers/abc/pause", false, handling{}, ""},
		{"DELETE", "/v1.43/images/x", false, handling{}, ""},
		{"POST", "/v1.43/containers/abc/pause/x", false, handling{}, ""},
		{"GET", "/v1.43/containers/../json", false, handling{}, ""},
		{"GET", "/v1.43/containers/abc/./json", false, handling{}, ""},
		{"DELETE", "/v1.43/containers//", false, handling{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			h, c, ok := rt.match(httptest.NewRequest(tt.method, tt.path, nil))
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.handling, h)
			assert.Equal(t, tt.container, c)
		})
	}
}

func TestSuggest(t *testing.T) {
	for path, want := range map[string]string{
		"/v1.43/containers/0123abc/exec": "POST /containers/{id}/exec",
		"/v1.43/exec/9f/start":           "POST /exec/{id}/start",
		"/v1.43/containers/prune":        "POST /containers/prune",
		"/v1.43/networks/create":         "POST /networks/create",
	} {
		assert.Equal(t, want, suggest(httptest.NewRequest("POST", path, nil)), path)
	}
}

func TestParseRule(t *testing.T) {
	for _, bad := range []string{"", "POST", "post /x", "POST x", "POST /{idx}/y"} {
		_, err := ParseRule(bad)
		assert.Error(t, err, "%q", bad)
	}
	r, err := ParseRule("  GET /images/{name}/history ")
	require.NoError(t, err)
	assert.Equal(t, Rule{"GET", "/images/{name}/history"}, r)
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{Listen: []string{"unix:///tmp/x.sock", "tcp://127.0.0.1:2375"}, JournalDir: "/tmp/j"}, ""},
		{"no listener", Config{JournalDir: "/tmp/j"}, "--listen"},
		{"network tcp", Config{Listen: []string{"tcp://0.0.0.0:2375"}, JournalDir: "/tmp/j"}, "must be on loopback"},
		{"no journal", Config{Listen: []string{"unix:///tmp/x.sock"}}, "--journal"},
		{"the daemon's own socket", Config{Listen: []string{"unix:///var/run/docker.sock"}, JournalDir: "/tmp/j"}, "daemon's own address"},
		{"bad scheme", Config{Listen: []string{"http://x"}, JournalDir: "/tmp/j"}, "unix:///path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := tt.cfg.withDefaults()
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrConfig)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestIsRuntimeImage(t *testing.T) {
	imgs := DefaultRuntimeImages
	for ref, want := range map[string]bool{
		"epilogue/action-go": true, "epilogue/action-go:0.1.0": true, "docker.io/epilogue/action-go:latest": true,
		"epilogue/action-go@sha256:abcd": true, "epilogue/action-gox": false, "openwhisk/action-golang-v1.22": false,
		"localhost:5000/epilogue/action-go": false,
	} {
		assert.Equal(t, want, isRuntimeImage(ref, imgs), ref)
	}
}

func TestRewriteCreate(t *testing.T) {
	s := &Shim{cfg: Config{RuntimeImages: DefaultRuntimeImages, NotifyURL: "http://172.17.0.1:7543"}, key: []byte("k")}
	body := `{"Image":"epilogue/action-go:latest","Env":["__OW_API_HOST=https://x:443"],"Labels":{},"HostConfig":{"Memory":268435456}}`
	out, instance, ok := s.rewriteCreate([]byte(body))
	require.True(t, ok)
	var cfg struct {
		Env        []string
		Labels     map[string]string
		HostConfig map[string]any
	}
	require.NoError(t, json.Unmarshal(out, &cfg))
	assert.Equal(t, []string{"__OW_API_HOST=https://x:443", completion.EnvInstance + "=" + instance,
		completion.EnvNotifyURL + "=http://172.17.0.1:7543/epilogue/events", completion.EnvNotifyToken + "=" + s.token(instance)}, cfg.Env)
	assert.Equal(t, instance, cfg.Labels[LabelInstance])
	assert.Equal(t, 268435456.0, cfg.HostConfig["Memory"], "the rest is kept")

	_, _, ok = s.rewriteCreate([]byte(`{"Image":"busybox","Env":null}`))
	assert.False(t, ok, "other images are forwarded untouched")
	_, _, ok = s.rewriteCreate([]byte(`{"Image":"busybox","Labels":{"dev.epilogue.runtime":"1"}}`))
	assert.True(t, ok, "a labelled runtime of any image")
	_, _, ok = s.rewriteCreate([]byte(`not json`))
	assert.False(t, ok)
	assert.NotEqual(t, s.token("a"), s.token("b"))
}

// FuzzRewriteCreate: create bodies come from whoever reaches the socket.
// The rewrite never panics; what it rewrites is JSON with the instance's
// label and environment, and every other field kept.
func FuzzRewriteCreate(f *testing.F) {
	f.Add([]byte(`{"Image":"epilogue/action-go","Env":["A=1"],"Labels":{"x":"y"}}`))
	f.Add([]byte(`{"Image":"busybox","Labels":{"dev.epilogue.runtime":"1"},"Env":null}`))
	f.Add([]byte(`{"Image":1}`))
	s := &Shim{cfg: Config{RuntimeImages: DefaultRuntimeImages, NotifyURL: "http://n"}, key: []byte("k")}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, instance, ok := s.rewriteCreate(body)
		if !ok {
			return
		}
		var in, got map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(body, &in))
		require.NoError(t, json.Unmarshal(out, &got))
		var labels map[string]string
		require.NoError(t, json.Unmarshal(got["Labels"], &labels))
		require.Equal(t, instance, labels[LabelInstance])
		var env []string
		require.NoError(t, json.Unmarshal(got["Env"], &env))
		require.Contains(t, env, completion.EnvInstance+"="+instance)
		for k := range in {
			require.Contains(t, got, k)
		}
	})
}

// FuzzRoute: paths and methods come from whoever reaches the socket. The
// router never panics, a container call names exactly one path segment,
// and a denied call is matched once the rule suggest names for it is
// allowed (so the 403's advice works).
func FuzzRoute(f *testing.F) {
	for _, seed := range []struct{ method, path string }{
		{"POST", "/v1.43/containers/abc/pause"}, {"DELETE", "/containers/abc"}, {"POST", "/v1.43/containers/abc/exec"},
		{"GET", "/v1.43/images/epilogue/action-go:latest/json"}, {"POST", "/v1.43/exec/9f/start"}, {"GET", "/containers/../json"},
	} {
		f.Add(seed.method, seed.path)
	}
	rt, err := newRouter(nil)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, method, path string) {
		r := &http.Request{Method: method, URL: &url.URL{Path: path}}
		h, container, ok := rt.match(r)
		if ok && (h.kind == deferrable || h.kind == unpausing) {
			require.NotEmpty(t, container)
			require.NotContains(t, container, "/")
		}
		if ok || !clean(path) || strings.ContainsAny(method+path, " \t\n\r\v\f") {
			return
		}
		rule, err := ParseRule(suggest(r))
		if err != nil {
			return // a method or segment no rule can name
		}
		allowing, err := newRouter([]Rule{rule})
		require.NoError(t, err)
		_, _, ok = allowing.match(r)
		require.True(t, ok, "suggested %q does not allow %s %s", rule, method, path)
	})
}
