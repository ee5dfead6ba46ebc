package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func newClient(t *testing.T, f *fixture) *whisk.Client {
	t.Helper()
	c, err := whisk.NewClient(http.DefaultClient, &whisk.Config{Host: f.srv.URL, AuthToken: guestAuth, Namespace: "_", Insecure: true})
	require.NoError(t, err)
	return c
}

// TestClientGo drives every call the wsk CLI makes through openwhisk-client-go.
func TestClientGo(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"greeting":"hi"}`)
	c := newClient(t, f)
	code, timeout, memory := "UEsDBAo=", 30000, 256

	a, _, err := c.Actions.Insert(&whisk.Action{Name: "hello",
		Exec:   &whisk.Exec{Kind: "blackbox", Image: "example/img:latest", Code: &code},
		Limits: &whisk.Limits{Timeout: &timeout, Memory: &memory}}, true)
	require.NoError(t, err)
	assert.Equal(t, "hello", a.Name)
	assert.Equal(t, "guest", a.Namespace)

	_, _, err = c.Actions.Insert(&whisk.Action{Name: "hello", Exec: &whisk.Exec{Kind: "blackbox", Image: "x"}}, false)
	var werr *whisk.WskError
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 409-256, werr.ExitCode)

	got, _, err := c.Actions.Get("hello", true)
	require.NoError(t, err)
	require.NotNil(t, got.Exec.Code)
	assert.Equal(t, code, *got.Exec.Code)
	assert.Equal(t, 30000, *got.Limits.Timeout)

	list, _, err := c.Actions.List("", &whisk.ActionListOptions{Limit: 30})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "hello", list[0].Name)

	res, resp, err := c.Actions.Invoke("hello", map[string]any{"k": "v"}, true, false)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	id := res.(map[string]any)["activationId"].(string)

	res, _, err = c.Actions.Invoke("hello", map[string]any{"k": "v"}, true, true)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"greeting": "hi"}, res)

	res, resp, err = c.Actions.Invoke("hello", nil, false, false)
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	assert.Regexp(t, `^[0-9a-f]{32}$`, res.(map[string]any)["activationId"])
	f.inv.wg.Wait()

	act, _, err := c.Activations.Get(id)
	require.NoError(t, err)
	assert.Equal(t, id, act.ActivationID)
	assert.Equal(t, "success", act.Response.Status)
	assert.True(t, act.Response.Success)
	assert.Equal(t, int64(10), act.Duration)

	logs, _, err := c.Activations.Logs(id)
	require.NoError(t, err)
	assert.Equal(t, []string{"2026-01-01T00:00:00.000Z stdout: hi"}, logs.Logs)

	result, _, err := c.Activations.Result(id)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"greeting": "hi"}, result.Result)

	acts, _, err := c.Activations.List(&whisk.ActivationListOptions{Name: "hello", Limit: 2})
	require.NoError(t, err)
	assert.Len(t, acts, 2)
	acts, _, err = c.Activations.List(&whisk.ActivationListOptions{Limit: 10, Docs: true})
	require.NoError(t, err)
	require.Len(t, acts, 3)
	assert.Equal(t, []any{"2026-01-01T00:00:00.000Z stdout: hi"}, toAny(acts[0].Logs))

	_, _, err = c.Activations.Get("00000000000000000000000000000000")
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 404-256, werr.ExitCode)
	assert.Contains(t, werr.Error(), "The requested resource does not exist. (code ")

	_, err = c.Actions.Delete("hello")
	require.NoError(t, err)
	_, err = c.Actions.Delete("hello")
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 404-256, werr.ExitCode)
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestClientGoInvokeErrors: client-go reads 202 as TimedOut and 502 as an
// application error, keeping the decoded body.
func TestClientGoInvokeErrors(t *testing.T) {
	t.Run("502 application error", func(t *testing.T) {
		f := newFixture(t, Config{}, nil, entity.StatusApplicationError, `{"error":"boom"}`)
		f.seedAction(t, "guest", "act", imgAction)
		_, _, err := newClient(t, f).Actions.Invoke("act", nil, true, false)
		var werr *whisk.WskError
		require.ErrorAs(t, err, &werr)
		assert.True(t, werr.ApplicationError)
		assert.Equal(t, 502-256, werr.ExitCode)
		assert.Contains(t, werr.Error(), "boom")
	})
	t.Run("202 blocking timeout", func(t *testing.T) {
		f := newFixture(t, Config{BlockingLimit: 20 * time.Millisecond}, make(chan struct{}), entity.StatusSuccess, `{}`)
		f.seedAction(t, "guest", "act", imgAction)
		res, _, err := newClient(t, f).Actions.Invoke("act", nil, true, true)
		var werr *whisk.WskError
		require.ErrorAs(t, err, &werr)
		assert.True(t, werr.TimedOut)
		assert.Equal(t, 202, werr.ExitCode)
		assert.Regexp(t, `^[0-9a-f]{32}$`, res.(map[string]any)["activationId"])
	})
}
