package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/openwhisk-client-go/whisk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// compiledBound bounds the wait for the first activation of a Go source
// action: it compiles first (seconds with a warm build cache).
const compiledBound = exampleBuildBound

// OpenWhisk-shaped Go actions, as wsk reads them from main.go.
const (
	goHello = "package main\n\n" +
		"func Hello(obj map[string]interface{}) map[string]interface{} {\n" +
		"\tname, _ := obj[\"name\"].(string)\n" +
		"\treturn map[string]interface{}{\"greeting\": \"Hello, \" + name + \"!\"}\n}\n"
	goBroken = "package main\n\n" +
		"func Main(obj map[string]interface{}) map[string]interface{} {\n" +
		"\treturn undefinedThing(obj)\n}\n"
	goSDK = "package main\n\nimport (\n\t\"context\"\n\n\t\"github.com/epilogue-dev/epilogue/sdk\"\n)\n\n" +
		"func main() {\n\tsdk.Run(func(ctx context.Context, in map[string]any) (map[string]any, error) {\n" +
		"\t\treturn map[string]any{\"sdk\": in[\"name\"]}, nil\n\t})\n}\n"
)

// goModuleZip is a zip of a Go module whose action uses a package of its
// own, as wsk sends a zip: base64.
func goModuleZip(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	require.NoError(t, zw.AddFS(os.DirFS(filepath.Join("..", "..", "standalone", "gosource", "testdata", "greeter"))))
	require.NoError(t, zw.Close())
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// awaitActivation polls an activation until its record is stored.
func awaitActivation(t *testing.T, c *whisk.Client, id string) *whisk.Activation {
	t.Helper()
	var act *whisk.Activation
	require.Eventuallyf(t, func() bool {
		a, _, err := c.Activations.Get(id)
		act = a
		return err == nil
	}, compiledBound, pollGap, "activation %s was never stored", id)
	return act
}

// TestStandaloneGoSource creates Go source actions as wsk and
// openwhisk-client-go send them, on each backend: OpenWhisk's shape with
// --main, an SDK main package, a zip of a module and a --native zip run;
// a compile error is the activation's developer error with the compiler's
// message. Invokes are non-blocking so that a slow first compile is
// waited for by polling the record, not cut short by the blocking limit.
func TestStandaloneGoSource(t *testing.T) {
	native := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	module := goModuleZip(t)
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, be, standalone.Config{})
			c := s.client(t)

			// The recorded wsk request: wsk action create gohello main.go --kind go:1.22 --main hello.
			src, err := json.Marshal(goHello)
			require.NoError(t, err)
			r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/gohello?overwrite=false",
				`{"namespace":"_","name":"gohello","exec":{"kind":"go:1.22","code":`+string(src)+`,"main":"hello"}}`)
			require.Equal(t, http.StatusOK, r.status, r.body)
			// wsk action invoke gohello -p name Ada
			r = s.wsk(t, "POST", "/api/v1/namespaces/_/actions/gohello?blocking=false&result=false", `{"name":"Ada"}`)
			require.Equal(t, http.StatusAccepted, r.status, r.body)
			act := awaitActivation(t, c, decodeMap(t, r.body)["activationId"].(string))
			assert.Equal(t, "success", act.Response.Status, "%+v", act.Response.Result)
			assert.Equal(t, map[string]any{"greeting": "Hello, Ada!"}, act.Response.Result)
			assert.Equal(t, "go:1.22", act.Annotations.GetValue("kind"), "the activation keeps the action's kind")

			// Compiled once: the next (blocking) invoke answers at once from the cache or a warm container.
			r = s.wsk(t, "POST", "/api/v1/namespaces/_/actions/gohello?blocking=true&result=true", `{"name":"Bo"}`)
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.JSONEq(t, `{"greeting":"Hello, Bo!"}`, r.body)

			broken := goBroken
			sdkSrc := goSDK
			for _, a := range []*whisk.Action{
				{Name: "broken", Exec: &whisk.Exec{Kind: "go:1.22", Code: &broken}},
				{Name: "sdk", Exec: &whisk.Exec{Kind: "go:1.22", Code: &sdkSrc}},
				{Name: "module", Exec: &whisk.Exec{Kind: "go:1.22", Code: &module}},
				{Name: "native", Exec: &whisk.Exec{Kind: "blackbox", Image: entity.NativeImage, Code: &native}},
			} {
				_, _, err := c.Actions.Insert(a, false)
				require.NoError(t, err, a.Name)
			}
			tests := []struct {
				action string
				status string
				result map[string]any
			}{
				{"sdk", "success", map[string]any{"sdk": "Cy"}},
				{"module", "success", map[string]any{"m": "hey Cy"}},
				{"native", "success", map[string]any{"name": "Cy"}}, // the test action echoes its parameters
			}
			for _, tt := range tests {
				res, _, err := c.Actions.Invoke(tt.action, map[string]any{"name": "Cy"}, false, false)
				require.NoError(t, err, tt.action)
				act := awaitActivation(t, c, res.(map[string]any)["activationId"].(string))
				assert.Equal(t, tt.status, act.Response.Status, "%s: %+v", tt.action, act.Response.Result)
				assert.Equal(t, tt.result, act.Response.Result, tt.action)
			}

			res, _, err := c.Actions.Invoke("broken", map[string]any{}, false, false)
			require.NoError(t, err)
			act = awaitActivation(t, c, res.(map[string]any)["activationId"].(string))
			assert.Equal(t, "action developer error", act.Response.Status)
			result, _ := act.Response.Result.(map[string]any)
			msg, _ := result["error"].(string)
			assert.Contains(t, msg, "exec__.go:4:", "the compiler's message, naming the file as OpenWhisk's Go runtime does")
			assert.Contains(t, msg, "undefined: undefinedThing")
		})
	}
}

// TestStandaloneGoSourceWithoutGo: on a host without the go command a Go
// source action is created (as OpenWhisk stores code it has not compiled),
// and its invoke is the platform's error naming what is missing and the
// flag that fixes it; a --native zip still runs.
func TestStandaloneGoSourceWithoutGo(t *testing.T) {
	native := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	s := startServer(t, standalone.BackendProcess, standalone.Config{GoBin: filepath.Join(t.TempDir(), "no-go")})
	c := s.client(t)
	hello, nativeZip := goHello, native
	_, _, err := c.Actions.Insert(&whisk.Action{Name: "gohello", Exec: &whisk.Exec{Kind: "go:1.22", Code: &hello, Main: "hello"}}, false)
	require.NoError(t, err)
	_, _, err = c.Actions.Insert(&whisk.Action{Name: "native", Exec: &whisk.Exec{Kind: "blackbox", Image: entity.NativeImage, Code: &nativeZip}}, false)
	require.NoError(t, err)

	res, _, err := c.Actions.Invoke("gohello", map[string]any{"name": "Ada"}, false, false)
	require.NoError(t, err)
	act := awaitActivation(t, c, res.(map[string]any)["activationId"].(string))
	assert.Equal(t, "whisk internal error", act.Response.Status)
	result, _ := act.Response.Result.(map[string]any)
	msg, _ := result["error"].(string)
	assert.Contains(t, msg, "no go command")
	assert.Contains(t, msg, "--go-bin")

	res, _, err = c.Actions.Invoke("native", map[string]any{"name": "Ada"}, true, true)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"name": "Ada"}, res)
}
