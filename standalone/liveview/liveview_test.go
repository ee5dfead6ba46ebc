package liveview

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/reclaim"
	"github.com/epilogue-dev/epilogue/standalone/backend/process"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/standalone/store"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// bound caps every wait of these tests: far above a busy machine's delays,
// never waited out when they pass.
const bound = 2 * time.Minute

// newPool is a real pool on the process backend, closed when the test ends.
func newPool(t *testing.T) *pool.Pool {
	t.Helper()
	be, err := process.New(process.Config{ProxyPath: testenv.BuildStatic(t, "./cmd/epilogue-proxy"), WorkDir: t.TempDir()})
	require.NoError(t, err)
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	p, err := pool.New(pool.Config{Backend: be, Store: st, Policy: reclaim.Epilogue, PauseGrace: pool.Immediately, Prewarm: 0})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		assert.NoError(t, p.Close(ctx))
		assert.NoError(t, be.Close(ctx))
		assert.NoError(t, st.Close())
	})
	return p
}

// serve runs the view of p on a test server.
func serve(t *testing.T, cfg Config) (*Handler, *httptest.Server) {
	t.Helper()
	h, err := New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, srv
}

// sse is one Server-Sent Event, or a comment (name "comment").
type sse struct {
	name, data string
}

// openStream opens EventsPath and delivers its events on a channel that is
// closed when the stream ends.
func openStream(t *testing.T, url string) (<-chan sse, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+EventsPath, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := make(chan sse, 1024)
	go func() {
		defer close(events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					events <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, ":"):
				events <- sse{name: "comment", data: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			}
		}
	}()
	t.Cleanup(cancel)
	return events, cancel
}

// next returns the next event that is not a comment.
func next(t *testing.T, events <-chan sse) sse {
	t.Helper()
	for {
		select {
		case ev, ok := <-events:
			require.True(t, ok, "the stream ended")
			if ev.name != "comment" {
				return ev
			}
		case <-time.After(bound):
			t.Fatalf("no event within %s", bound)
		}
	}
}

func TestNewNeedsASource(t *testing.T) {
	_, err := New(Config{})
	require.ErrorContains(t, err, "pass the pool")
}

// TestPageIsSelfContained: the page and its assets are served from the
// binary, and nothing in them loads anything from elsewhere.
func TestPageIsSelfContained(t *testing.T) {
	_, srv := serve(t, Config{Source: newPool(t)})
	tests := []struct {
		path, contentType, contains string
	}{
		{ViewPath, "text/html", `<script src="/epilogue/view/assets/view.js">`},
		{assetsPath + "view.js", "text/javascript", "new EventSource(\"/epilogue/view/events\")"},
		{assetsPath + "view.css", "text/css", ".seg.lingering"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, resp.Header.Get("Content-Type"), tt.contentType)
			assert.Contains(t, string(body), tt.contains)
		})
	}
	resp, err := http.Get(srv.URL + ViewPath)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'none'", "the browser itself refuses anything from elsewhere")

	resp, err = http.Get(srv.URL + assetsPath + "missing.js")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	require.NoError(t, fs.WalkDir(assets, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, path)
		require.NoError(t, err)
		for _, external := range []string{"http://", "https://", `src="//`, `href="//`, "@import"} {
			assert.NotContains(t, string(b), external, "%s must not load anything from elsewhere", path)
		}
		return nil
	}))
}

// TestStreamFollowsALingeringActivation: the stream starts with the whole
// timeline, then shows a real activation answer, linger while its work is
// held at a gate, and be done once the gate opens, in that order.
func TestStreamFollowsALingeringActivation(t *testing.T) {
	p := newPool(t)
	_, srv := serve(t, Config{Source: p, Semantics: string(p.Policy())})
	events, _ := openStream(t, srv.URL)
	first := next(t, events)
	require.Equal(t, EventTimeline, first.name)
	var hello Hello
	require.NoError(t, json.Unmarshal([]byte(first.data), &hello))
	assert.Equal(t, "epilogue", hello.Semantics)
	assert.Empty(t, hello.Timeline.Containers)

	exe, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)
	g := testenv.NewGate(t)
	a := entity.Action{Namespace: "guest", Name: "held", Version: "0.0.1", Updated: 1, Limits: entity.DefaultLimits(),
		Exec: entity.Exec{Kind: entity.KindBlackbox, Image: "epilogue/action-go", Code: base64.StdEncoding.EncodeToString(exe), Binary: true}}
	inv, err := p.Invoke(context.Background(), pool.Request{Action: a, Subject: "guest",
		Params: json.RawMessage(`{"quiet":true,"linger_ms":1,"gate":"` + g.URL("work") + `"}`)})
	require.NoError(t, err)

	// seen lists the activation's outcomes as the stream shows them, each once.
	var seen []string
	var last uint64
	waitFor := func(outcome string) pool.ActivationTimeline {
		t.Helper()
		for {
			ev := next(t, events)
			require.Equal(t, EventChange, ev.name)
			var ch pool.Change
			require.NoError(t, json.Unmarshal([]byte(ev.data), &ch))
			require.Greater(t, ch.Seq, last, "changes come in order")
			last = ch.Seq
			for _, act := range ch.Container.Activations {
				if act.ID != inv.ID() {
					continue
				}
				if len(seen) == 0 || seen[len(seen)-1] != act.Outcome {
					seen = append(seen, act.Outcome)
				}
				if act.Outcome == outcome {
					assert.Equal(t, "guest/held", act.Action)
					return act
				}
			}
		}
	}
	waitFor(pool.OutcomeLingering)
	g.Open("work")
	done := waitFor(pool.OutcomeDone)
	assert.Equal(t, []string{pool.OutcomeRunning, pool.OutcomeLingering, pool.OutcomeDone}, seen)
	assert.False(t, done.Finished.Before(done.Responded))
	assert.Empty(t, done.Errors)
	paused := waitFor(pool.OutcomeDone) // the pause grace is immediate: the container is paused next
	for paused.Reclaim == "" {
		paused = waitFor(pool.OutcomeDone)
	}
	assert.Equal(t, "paused", paused.Reclaim)
}

// TestStreamBounds: a client past MaxClients is turned away with a reason,
// an idle stream carries heartbeats, and Close ends every stream.
func TestStreamBounds(t *testing.T) {
	h, srv := serve(t, Config{Source: newPool(t), MaxClients: 1, Heartbeat: 10 * time.Millisecond})
	events, _ := openStream(t, srv.URL)
	assert.Equal(t, EventTimeline, next(t, events).name)

	resp, err := http.Get(srv.URL + EventsPath)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, string(body), "close one and reload")
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))

	select {
	case ev := <-events:
		assert.Equal(t, sse{name: "comment", data: "heartbeat"}, ev)
	case <-time.After(bound):
		t.Fatalf("no heartbeat within %s", bound)
	}

	h.Close()
	deadline := time.After(bound)
	for ended := false; !ended; {
		select {
		case _, open := <-events:
			ended = !open
		case <-deadline:
			t.Fatalf("Close did not end the stream within %s", bound)
		}
	}
	resp, err = http.Get(srv.URL + EventsPath)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "no stream starts after Close")
}

// TestClientSlotIsFreedWhenAPageGoes: closing a page frees its slot.
func TestClientSlotIsFreedWhenAPageGoes(t *testing.T) {
	_, srv := serve(t, Config{Source: newPool(t), MaxClients: 1})
	events, leave := openStream(t, srv.URL)
	assert.Equal(t, EventTimeline, next(t, events).name)
	leave()
	require.Eventually(t, func() bool {
		resp, err := http.Get(srv.URL + EventsPath)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, bound, 20*time.Millisecond)
}

func TestEventFrame(t *testing.T) {
	tests := []struct {
		name string
		id   uint64
		v    any
		want string
	}{
		{"change", 7, map[string]string{"a": "b"}, "event: change\nid: 7\ndata: {\"a\":\"b\"}\n\n"},
		{"timeline", 0, map[string]string{"x": "line\nbreak"}, "event: timeline\nid: 0\ndata: {\"x\":\"line\\nbreak\"}\n\n"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(eventFrame(tt.name, tt.id, tt.v)))
	}
}
