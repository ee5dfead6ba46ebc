package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/backend/process"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/pool"
	"github.com/epilogue-dev/epilogue/standalone/store"
	"github.com/epilogue-dev/epilogue/tests/testenv"
)

// poolInvoker adapts the real container pool to Invoker, as standalone does.
type poolInvoker struct{ p *pool.Pool }

func (i poolInvoker) Invoke(ctx context.Context, req InvokeRequest) (Invocation, error) {
	inv, err := i.p.Invoke(ctx, pool.Request{Action: req.Action, Code: req.Code, Params: req.Params, Subject: req.Subject, APIKey: req.APIKey, Binding: req.Binding, Cause: req.Cause})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// bound is how long anything may take on a busy machine.
const bound = 3 * time.Minute

// TestSequenceOnPool runs sequences of real actions on the process backend:
// the middle component answers at once and keeps working until its gate
// opens. The sequence answers with the last component's result (built on the
// middle one's), before that work is done; its completion follows the
// component's: done, or failed naming it.
func TestSequenceOnPool(t *testing.T) {
	proxy := testenv.BuildStatic(t, "./cmd/epilogue-proxy")
	exe, err := os.ReadFile(testenv.BuildStatic(t, "./tests/testaction"))
	require.NoError(t, err)
	code := base64.StdEncoding.EncodeToString(exe)

	st, err := store.Open(t.TempDir())
	require.NoError(t, err)
	be, err := process.New(process.Config{ProxyPath: proxy, WorkDir: t.TempDir()})
	require.NoError(t, err)
	p, err := pool.New(pool.Config{Backend: be, Store: st})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		assert.NoError(t, p.Close(ctx))
		assert.NoError(t, be.Close(ctx))
		assert.NoError(t, st.Close())
	})
	h, err := New(Config{Store: st, Invoker: poolInvoker{p}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv, st: st}
	g := testenv.NewGateOn(t, "127.0.0.1")

	put := func(name, body string) {
		status, _, resp := f.do(t, guestAuth, "PUT", "/api/v1/namespaces/_/actions/"+name+"?overwrite=false", body)
		require.Equal(t, http.StatusOK, status, resp)
	}
	action := func(params string) string {
		return fmt.Sprintf(`{"exec":{"kind":"blackbox","image":"epilogue/action-go","code":%q},"parameters":%s}`, code, params)
	}
	put("echo", action(`[{"key":"quiet","value":true},{"key":"step","value":"echo"}]`))

	for _, tt := range []struct {
		name      string
		failAfter bool
		want      entity.Completion
	}{
		{"done", false, entity.CompletionDone},
		{"failed", true, entity.CompletionFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			linger := "linger_" + tt.name
			put(linger, action(fmt.Sprintf(`[{"key":"quiet","value":true},{"key":"linger_ms","value":1},{"key":"gate","value":%q},{"key":"fail_after","value":%t}]`, g.URL(tt.name), tt.failAfter)))
			put("seq_"+tt.name, `{"exec":{"kind":"sequence","components":["/_/echo","/_/`+linger+`","/_/echo"]}}`)

			status, _, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/seq_"+tt.name+"?blocking=true", `{"first":1}`)
			require.Equal(t, http.StatusOK, status, body)
			var rec entity.Activation
			require.NoError(t, json.Unmarshal([]byte(body), &rec))
			// echo has no linger_ms of its own: the last component lingers
			// (and answers so) only because the middle one's result said so.
			assert.JSONEq(t, `{"accepted":true,"linger_ms":1}`, string(rec.Response.Result),
				"the last component got the middle one's result over its own parameters")
			first, err := st.GetActivation("guest", rec.Logs[0])
			require.NoError(t, err)
			assert.JSONEq(t, `{"first":1,"quiet":true,"step":"echo"}`, string(first.Response.Result), "the first got the invoke's parameters")
			assert.Equal(t, rec.ActivationID, first.Cause, "a component names its sequence")
			require.Len(t, rec.Logs, 3)
			_, has := rec.Annotations.Get(entity.AnnotationCompletion)
			assert.False(t, has, "the sequence answered while its middle component's work waits on the gate")
			g.WaitArrived(t, tt.name, bound)
			stored, err := st.GetActivation("guest", rec.ActivationID)
			require.NoError(t, err)
			_, has = stored.Annotations.Get(entity.AnnotationCompletion)
			assert.False(t, has, "not complete while the gate is closed")

			g.Open(tt.name)
			require.Eventually(t, func() bool {
				stored, err = st.GetActivation("guest", rec.ActivationID)
				_, has := stored.Annotations.Get(entity.AnnotationCompletion)
				return err == nil && has
			}, bound, 20*time.Millisecond)
			c, _ := stored.Annotations.GetString(entity.AnnotationCompletion)
			assert.Equal(t, string(tt.want), c)
			errs, has := stored.Annotations.Get(entity.AnnotationPostResponseErrors)
			if tt.want == entity.CompletionDone {
				assert.False(t, has, "%s", errs)
				return
			}
			assert.Contains(t, string(errs), "component 2 (guest/"+linger+", activation "+rec.Logs[1]+"): failed")
		})
	}
}
