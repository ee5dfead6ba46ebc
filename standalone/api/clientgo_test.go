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

// TestClientGoPackages drives packages, bindings, namespaces and the lists
// of `wsk namespace get` through openwhisk-client-go.
func TestClientGoPackages(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"ok":true}`)
	c := newClient(t, f)
	var werr *whisk.WskError

	p, _, err := c.Packages.Insert(&whisk.Package{Name: "tools", Namespace: "_",
		Parameters:  whisk.KeyValueArr{{Key: "k", Value: "pkg"}, {Key: "p", Value: 1}},
		Annotations: whisk.KeyValueArr{{Key: "description", Value: "shared"}}}, false)
	require.NoError(t, err)
	assert.Equal(t, "guest", p.Namespace)
	assert.Equal(t, "0.0.1", p.Version)

	_, _, err = c.Actions.Insert(&whisk.Action{Name: "nopkg/x", Exec: &whisk.Exec{Kind: "blackbox", Image: "i"}}, false)
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 404-256, werr.ExitCode, "an action in a missing package")

	_, _, err = c.Actions.Insert(&whisk.Action{Name: "tools/echo", Exec: &whisk.Exec{Kind: "blackbox", Image: "i"},
		Parameters: whisk.KeyValueArr{{Key: "k", Value: "action"}}}, false)
	require.NoError(t, err)

	_, _, err = c.Packages.Insert(&whisk.BindingPackage{Name: "mytools",
		Parameters: whisk.KeyValueArr{{Key: "p", Value: 2}},
		Binding:    whisk.Binding{Namespace: "_", Name: "tools"}}, false)
	require.NoError(t, err)

	got, _, err := c.Packages.Get("mytools")
	require.NoError(t, err)
	require.NotNil(t, got.Binding)
	assert.Equal(t, whisk.Binding{Namespace: "guest", Name: "tools"}, *got.Binding)
	require.Len(t, got.Actions, 1)
	assert.Equal(t, "echo", got.Actions[0].Name)

	upd, _, err := c.Packages.Insert(&whisk.Package{Name: "tools", Namespace: "_",
		Parameters: whisk.KeyValueArr{{Key: "k", Value: "pkg2"}}}, true)
	require.NoError(t, err)
	assert.Equal(t, "0.0.2", upd.Version)
	assert.Equal(t, "shared", upd.Annotations.GetValue("description"), "an update keeps absent fields")

	pkgs, _, err := c.Packages.List(&whisk.PackageListOptions{Limit: 30})
	require.NoError(t, err)
	assert.Len(t, pkgs, 2)

	acts, _, err := c.Actions.List("mytools", &whisk.ActionListOptions{Limit: 30})
	require.NoError(t, err)
	require.Len(t, acts, 1)
	assert.Equal(t, "guest/tools", acts[0].Namespace)

	_, _, err = c.Actions.Invoke("mytools/echo", map[string]any{"q": 3}, true, true)
	require.NoError(t, err)
	f.inv.mu.Lock()
	assert.JSONEq(t, `{"k":"action","p":2,"q":3}`, f.inv.params[0], "package < binding < action < invoke")
	assert.Equal(t, []string{"guest/mytools"}, f.inv.bindings, "the invoker learns the binding, for the record's annotation")
	f.inv.mu.Unlock()

	_, _, err = c.Triggers.List(&whisk.TriggerListOptions{})
	require.NoError(t, err)
	_, _, err = c.Rules.List(&whisk.RuleListOptions{})
	require.NoError(t, err)

	_, err = c.Packages.Delete("tools")
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 409-256, werr.ExitCode)
	assert.Contains(t, werr.Error(), "Package not empty (contains 1 entity)")
	_, err = c.Actions.Delete("tools/echo")
	require.NoError(t, err)
	_, err = c.Packages.Delete("mytools")
	require.NoError(t, err)
	_, err = c.Packages.Delete("tools")
	require.NoError(t, err)
	_, _, err = c.Packages.Get("tools")
	require.ErrorAs(t, err, &werr)
	assert.Equal(t, 404-256, werr.ExitCode)

	// Last: List sets the client's namespace to "".
	nss, _, err := c.Namespaces.List()
	require.NoError(t, err)
	assert.Equal(t, []whisk.Namespace{{Name: "guest"}}, nss)
}

// TestClientGoSequence: a sequence through openwhisk-client-go's Exec.Components.
func TestClientGoSequence(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"n":1}`)
	f.seedAction(t, "guest", "a", imgAction)
	c := newClient(t, f)
	a, _, err := c.Actions.Insert(&whisk.Action{Name: "s", Exec: &whisk.Exec{Kind: "sequence", Components: []string{"/_/a", "/_/a"}}}, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"/guest/a", "/guest/a"}, a.Exec.Components)
	res, _, err := c.Actions.Invoke("s", map[string]any{"x": 1}, true, false)
	require.NoError(t, err)
	id := res.(map[string]any)["activationId"].(string)
	act, _, err := c.Activations.Get(id)
	require.NoError(t, err)
	assert.Len(t, act.Logs, 2)
	assert.Equal(t, "sequence", act.Annotations.GetValue("kind"))
	for _, cid := range act.Logs {
		comp, _, err := c.Activations.Get(cid)
		require.NoError(t, err)
		assert.Equal(t, "a", comp.Name)
	}
}

// TestClientGoTriggersRules: a trigger fired through its active rule starts
// the rule's action; a disabled rule starts nothing.
func TestClientGoTriggersRules(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "a", imgAction)
	c := newClient(t, f)

	_, _, err := c.Triggers.Insert(&whisk.Trigger{Name: "t", Namespace: "_", Parameters: whisk.KeyValueArr{{Key: "k", Value: "v"}}}, false)
	require.NoError(t, err)
	// wsk trigger create f --feed /whisk.system/alarms/alarm: the trigger is
	// stored with its feed annotation, as the controller does; the CLI then
	// invokes the feed action itself (tests/e2e runs a real feed).
	_, _, err = c.Triggers.Insert(&whisk.Trigger{Name: "f", Namespace: "_", Annotations: whisk.KeyValueArr{{Key: "feed", Value: "/whisk.system/alarms/alarm"}}}, false)
	require.NoError(t, err)
	ft, _, err := c.Triggers.Get("f")
	require.NoError(t, err)
	assert.Equal(t, "/whisk.system/alarms/alarm", ft.Annotations.GetValue("feed"))

	r, _, err := c.Rules.Insert(&whisk.Rule{Name: "r", Trigger: "/_/t", Action: "/_/a"}, false)
	require.NoError(t, err)
	assert.Equal(t, "active", r.Status)

	fired, _, err := c.Triggers.Fire("t", map[string]any{"x": 1})
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{32}$`, fired.ActivationId)
	f.inv.mu.Lock()
	assert.Equal(t, []string{`{"k":"v","x":1}`}, f.inv.params)
	f.inv.mu.Unlock()

	r, _, err = c.Rules.SetState("r", "inactive")
	require.NoError(t, err)
	assert.Equal(t, "inactive", r.Status)
	got, _, err := c.Rules.Get("r")
	require.NoError(t, err)
	assert.Equal(t, "inactive", got.Status)
	_, _, err = c.Triggers.Fire("t", nil)
	require.NoError(t, err, "204: no active rule")
	f.inv.mu.Lock()
	assert.Len(t, f.inv.params, 1, "a disabled rule starts nothing")
	f.inv.mu.Unlock()

	trig, _, err := c.Triggers.Get("t")
	require.NoError(t, err)
	assert.Contains(t, trig.Rules, "guest/r")
	rules, _, err := c.Rules.List(&whisk.RuleListOptions{})
	require.NoError(t, err)
	assert.Len(t, rules, 1)
	_, err = c.Rules.Delete("r")
	require.NoError(t, err)
	for _, name := range []string{"t", "f"} {
		_, _, err = c.Triggers.Delete(name)
		require.NoError(t, err)
	}
	triggers, _, err := c.Triggers.List(&whisk.TriggerListOptions{})
	require.NoError(t, err)
	assert.Empty(t, triggers)
	f.inv.wg.Wait()
}
