package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func TestInvokeOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		status     entity.Status
		result     string
		query      string
		wantStatus int
		wantHeader bool
		wantBody   string // "" = an activation whose response.status is status
	}{
		{"success -b -r", entity.StatusSuccess, `{"a":1}`, "blocking=true&result=true", 200, true, `{"a":1}`},
		{"success array result raw", entity.StatusSuccess, `[1,2]`, "blocking=true&result=true", 200, true, `[1,2]`},
		{"success -b", entity.StatusSuccess, `{"a":1}`, "blocking=true", 200, true, ""},
		{"application error -b", entity.StatusApplicationError, `{"error":"boom"}`, "blocking=true", 502, true, ""},
		{"application error -b -r", entity.StatusApplicationError, `{"error":"boom"}`, "blocking=true&result=true", 502, true, `{"error":"boom"}`},
		{"developer error -b", entity.StatusDeveloperError, `{"error":"crash"}`, "blocking=true", 502, true, ""},
		{"whisk error -b", entity.StatusWhiskError, `{"error":"internal"}`, "blocking=true", 500, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil, tt.status, tt.result)
			f.seedAction(t, "guest", "act", imgAction)
			status, h, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/act?"+tt.query, "{}")
			assert.Equal(t, tt.wantStatus, status, body)
			assert.Equal(t, tt.wantHeader, h.Get(HeaderActivationID) != "")
			if tt.wantBody != "" {
				assert.JSONEq(t, tt.wantBody, body)
				return
			}
			m := decode(t, body)
			assert.Equal(t, string(tt.status), m["response"].(map[string]any)["status"])
			id := m["activationId"].(string)
			got, err := f.st.GetActivation("guest", id)
			require.NoError(t, err)
			assert.Equal(t, id, got.ActivationID)
		})
	}
}

// TestInvokeBlockingTimeout: a blocking invoke whose activation is not done
// within min(timeout, BlockingLimit) answers 202 with its id; the record
// appears once the invoker finishes.
func TestInvokeBlockingTimeout(t *testing.T) {
	for _, tt := range []struct {
		name  string
		limit time.Duration
		query string
	}{
		{"blocking limit", 30 * time.Millisecond, "blocking=true&result=false"},
		{"timeout parameter", time.Minute, "blocking=true&result=true&timeout=20"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			f := newFixture(t, Config{BlockingLimit: tt.limit}, release, entity.StatusSuccess, `{}`)
			f.seedAction(t, "guest", "timeout", imgAction)
			status, h, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/timeout?"+tt.query, "{}")
			assert.Equal(t, http.StatusAccepted, status)
			m := decode(t, body)
			assert.Equal(t, map[string]any{"activationId": h.Get(HeaderActivationID)}, m)
			id := m["activationId"].(string)

			status, _, _ = f.do(t, guestAuth, "GET", "/api/v1/namespaces/_/activations/"+id, "")
			assert.Equal(t, http.StatusNotFound, status, "not written before the invoker finishes")
			close(release)
			f.inv.wg.Wait()
			status, _, body = f.do(t, guestAuth, "GET", "/api/v1/namespaces/_/activations/"+id, "")
			assert.Equal(t, http.StatusOK, status, body)
		})
	}
}

// TestInvokeParams: the action's parameters are defaults the request
// overrides, unless the action is annotated final.
func TestInvokeParams(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "p", `{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"key":"a","value":1},{"key":"b","value":2}]}`)
	f.seedAction(t, "guest", "fin", `{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"key":"a","value":1}],"annotations":[{"key":"final","value":true}]}`)

	status, _, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/p?blocking=true", `{"b":3,"c":{"d":4}}`)
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/p?blocking=true", "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, []string{`{"a":1,"b":3,"c":{"d":4}}`, `{"a":1,"b":2}`}, f.inv.params)
	// The invoker learns who called: the namespace and the key (for
	// provide-api-key actions).
	assert.Equal(t, []string{"guest " + GuestUUID + ":" + GuestKey, "guest " + GuestUUID + ":" + GuestKey}, f.inv.subjects)

	status, h, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/fin?blocking=true", `{"a":5}`)
	assertError(t, http.StatusBadRequest, "", status, h, body)
	assert.Contains(t, body, "final")
}

func TestInvokeWithoutInvoker(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "act", imgAction)
	h, err := New(Config{Store: f.st})
	require.NoError(t, err)
	rec := newRecorder(h, "POST", "/api/v1/namespaces/_/actions/act", "{}")
	assertError(t, http.StatusServiceUnavailable, "", rec.Code, rec.Header(), rec.Body.String())
	assert.True(t, strings.Contains(rec.Body.String(), "invoker"))
}

// A traceparent on the REST invoke reaches the invoker as the span context
// its activation's spans take as parent; without one there is none.
func TestInvokeCarriesTheCallersTraceContext(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "act", imgAction)
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/namespaces/_/actions/act?blocking=true", strings.NewReader("{}"))
	require.NoError(t, err)
	u, p, _ := strings.Cut(guestAuth, ":")
	req.SetBasicAuth(u, p)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	status, _, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/act?blocking=true", "{}")
	require.Equal(t, http.StatusOK, status, body)

	f.inv.mu.Lock()
	defer f.inv.mu.Unlock()
	require.Len(t, f.inv.parents, 2)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", f.inv.parents[0].TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", f.inv.parents[0].SpanID().String())
	assert.True(t, f.inv.parents[0].IsRemote())
	assert.False(t, f.inv.parents[1].IsValid(), "no traceparent, no parent")
}

// TestInvokePayloadLimit: OpenWhisk's 1 MiB limit applies to the invoke
// body as sent: exactly 1 MiB runs, one byte more is 413 with the
// controller's message and starts nothing.
func TestInvokePayloadLimit(t *testing.T) {
	pad := func(n int) string { return `{"a":"` + strings.Repeat("x", n-len(`{"a":""}`)) + `"}` }
	tests := []struct {
		name   string
		body   string
		status int
		msg    string
	}{
		{"exactly 1 MiB", pad(1 << 20), http.StatusOK, ""},
		{"1 MiB and a byte", pad(1<<20 + 1), http.StatusRequestEntityTooLarge, "Request larger than allowed: 1048577 > 1048576 bytes."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
			f.seedAction(t, "guest", "act", imgAction)
			status, h, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/act?blocking=true", tt.body)
			f.assertRanOrRefused(t, tt.status, tt.msg, status, h, body)
		})
	}
}

// TestActivationNotAnsweredYet: before the activation has answered, its
// record, logs and result are all 404 (as the controller, which has no
// record yet); once it answered all three are 200.
func TestActivationNotAnsweredYet(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, Config{}, release, entity.StatusSuccess, `{"a":1}`)
	f.seedAction(t, "guest", "slow", imgAction)
	status, h, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/slow", "{}")
	require.Equal(t, http.StatusAccepted, status, body)
	id := h.Get(HeaderActivationID)
	views := []string{"", "/logs", "/result"}
	for _, v := range views {
		status, h, body := f.do(t, guestAuth, "GET", "/api/v1/namespaces/_/activations/"+id+v, "")
		assertError(t, http.StatusNotFound, msgNotFound, status, h, body)
	}
	close(release)
	f.inv.wg.Wait()
	for _, v := range views {
		status, _, body := f.do(t, guestAuth, "GET", "/api/v1/namespaces/_/activations/"+id+v, "")
		assert.Equal(t, http.StatusOK, status, v+": "+body)
	}
}
