// These are unit tests of the HTTP layer only: a real store in t.TempDir(),
// but a fake Invoker that writes a given activation record with
// store.PutActivation (as the container pool will) and closes Done when the
// test releases it. Nothing runs an action here.
package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"go.opentelemetry.io/otel/trace"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

const guestAuth = GuestUUID + ":" + GuestKey

// fakeInvoker completes every activation with status and result once
// release is closed.
type fakeInvoker struct {
	st      *store.Store
	release chan struct{}
	status  entity.Status
	result  json.RawMessage
	wg      sync.WaitGroup

	mu       sync.Mutex // guards params, subjects, parents, bindings and causes
	params   []string
	subjects []string
	parents  []trace.SpanContext // the span context each Invoke's ctx carried
	bindings []string
	causes   []string
}

type fakeInvocation struct {
	id   string
	done chan struct{}
	rec  entity.Activation // written before done is closed
}

func (i *fakeInvocation) ID() string                { return i.id }
func (i *fakeInvocation) Done() <-chan struct{}     { return i.done }
func (i *fakeInvocation) Record() entity.Activation { return i.rec }

func (f *fakeInvoker) Invoke(ctx context.Context, req InvokeRequest) (Invocation, error) {
	a := req.Action
	f.mu.Lock()
	f.parents = append(f.parents, trace.SpanContextFromContext(ctx))
	f.params = append(f.params, string(req.Params))
	f.subjects = append(f.subjects, req.Subject+" "+req.APIKey)
	f.bindings = append(f.bindings, req.Binding)
	f.causes = append(f.causes, req.Cause)
	f.mu.Unlock()
	inv := &fakeInvocation{id: entity.NewActivationID(), done: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		<-f.release
		ns, _, _ := strings.Cut(a.Namespace, "/")
		rec := entity.Activation{
			Namespace: ns, Name: a.Name, Version: a.Version, Subject: ns, ActivationID: inv.id,
			Start: 1000, End: 1010, Duration: 10, Response: entity.NewResponse(f.status, f.result),
			Logs: []string{"2026-01-01T00:00:00.000Z stdout: hi"},
		}
		_ = rec.Annotations.SetJSON(entity.AnnotationPath, a.Path())
		if err := f.st.PutActivation(rec); err != nil {
			panic(err)
		}
		inv.rec = rec
		close(inv.done)
	}()
	return inv, nil
}

type fixture struct {
	srv *httptest.Server
	st  *store.Store
	inv *fakeInvoker
}

// newFixture serves New over a fresh store. release nil = activations
// complete at once.
func newFixture(t *testing.T, cfg Config, release chan struct{}, status entity.Status, result string) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, st.Close()) })
	if release == nil {
		release = make(chan struct{})
		close(release)
	}
	inv := &fakeInvoker{st: st, release: release, status: status, result: json.RawMessage(result)}
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		inv.wg.Wait()
	})
	cfg.Store, cfg.Invoker = st, inv
	h, err := New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, st: st, inv: inv}
}

// do sends a request as wsk does: Basic auth, Content-Type only with a body.
func (f *fixture) do(t *testing.T, auth, method, path, body string) (int, http.Header, string) {
	t.Helper()
	headers := []string{"User-Agent: OpenWhisk-CLI/1.0 (not set) linux amd64"}
	if auth != "" {
		headers = append(headers, "Authorization: "+auth)
	}
	if body != "" {
		headers = append(headers, "Content-Type: application/json")
	}
	return f.webDo(t, method, path, body, headers...)
}

// webDo sends a request with optional headers ("Name: value"; an
// Authorization value is "uuid:key", sent as Basic auth) and returns the
// status, headers and body.
func (f *fixture) webDo(t *testing.T, method, path, body string, headers ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(t, err)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		if k == "Authorization" {
			u, p, _ := strings.Cut(v, ":")
			req.SetBasicAuth(u, p)
			continue
		}
		req.Header.Set(k, v)
	}
	// A redirect a web action answers is the answer under test.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// started is how many activations the fixture's invoker was asked for.
func (f *fixture) started() int {
	f.inv.mu.Lock()
	defer f.inv.mu.Unlock()
	return len(f.inv.params)
}

// assertRanOrRefused checks an answer that either ran one activation
// (wantStatus 200) or was refused with wantMsg before any started.
func (f *fixture) assertRanOrRefused(t *testing.T, wantStatus int, wantMsg string, status int, h http.Header, body string) {
	t.Helper()
	if wantStatus == http.StatusOK {
		assert.Equal(t, wantStatus, status, body)
		assert.Equal(t, 1, f.started())
		return
	}
	assertError(t, wantStatus, wantMsg, status, h, body)
	assert.Zero(t, f.started(), "refused before any activation")
}

func (f *fixture) seedAction(t *testing.T, ns, name, body string) {
	t.Helper()
	a, err := entity.ParseActionPut([]byte(body), ns, name)
	require.NoError(t, err)
	_, err = f.st.PutAction(a, true)
	require.NoError(t, err)
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m), body)
	return m
}

// assertError checks the controller's error shape, Content-Type and Content-Length.
func assertError(t *testing.T, wantStatus int, wantMsg string, status int, h http.Header, body string) {
	t.Helper()
	assert.Equal(t, wantStatus, status, body)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	assert.NotEmpty(t, h.Get("Content-Length"))
	m := decode(t, body)
	assert.Len(t, m, 2, body)
	if wantMsg != "" {
		assert.Equal(t, wantMsg, m["error"], body)
	} else {
		assert.NotEmpty(t, m["error"])
	}
	assert.Regexp(t, `^[0-9a-f]{32}$`, m["code"])
}

const imgAction = `{"exec":{"kind":"blackbox","image":"example/img:latest"}}`
