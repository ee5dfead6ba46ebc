package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/apache/openwhisk-client-go/whisk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// curl sends a request as curl does: no credentials unless given as a
// header, redirects not followed.
func (s *server) curl(t *testing.T, method, path, body string, headers ...string) apiReply {
	t.Helper()
	hc := &http.Client{Timeout: apiBound, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s.send(t, hc, method, path, body, append([]string{"User-Agent: curl/8.5.0"}, headers...)...)
}

// onEachBackend runs test in parallel against a fresh standalone on each
// backend.
func onEachBackend(t *testing.T, test func(t *testing.T, s *server)) {
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			test(t, startServer(t, be, standalone.Config{}))
		})
	}
}

// createAction sends wsk's action create of name with the zip as its code
// and more (`,"annotations":[…]`, say) in the body.
func (s *server) createAction(t *testing.T, name, zip, more string) {
	t.Helper()
	r := s.wsk(t, "PUT", "/api/v1/namespaces/_/actions/"+name+"?overwrite=false",
		`{"namespace":"_","name":"`+name+`","exec":{"kind":"blackbox","code":"`+zip+`","image":"epilogue/action-go"}`+more+`}`)
	require.Equal(t, http.StatusOK, r.status, r.body)
}

// TestStandaloneWebActions: the README's session (wsk action create hello
// --web true, action get --url, curl hello.json?name=x) on a real standalone
// with examples/hello, then tests/testaction made a web action through
// openwhisk-client-go, whose echo shows what the action received and lets
// the request choose the .http answer, on each backend.
func TestStandaloneWebActions(t *testing.T) {
	hello := base64.StdEncoding.EncodeToString(actionZip(t, "examples/hello"))
	echo := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	onEachBackend(t, func(t *testing.T, s *server) {
		// wsk action create hello hello.zip --docker epilogue/action-go --web true
		s.createAction(t, "hello", hello, `,"annotations":[{"key":"web-export","value":true},{"key":"raw-http","value":false},{"key":"final","value":true}]`)
		// wsk action get hello --url prints .../api/v1/web/<namespace>/default/hello
		r := s.wsk(t, "GET", "/api/v1/namespaces/_/actions/hello?code=false", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		url := "/api/v1/web/" + decodeMap(t, r.body)["namespace"].(string) + "/default/hello"

		r = s.curl(t, "GET", url+".json?name=x", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		assert.Equal(t, "application/json", r.header.Get("Content-Type"))
		assert.JSONEq(t, `{"greeting":"Hello, x!"}`, r.body)
		id := r.header.Get("X-Openwhisk-Activation-Id")
		rec := s.wsk(t, "GET", "/api/v1/namespaces/_/activations/"+id, "")
		require.Equal(t, http.StatusOK, rec.status, rec.body)
		assert.Equal(t, "guest", decodeMap(t, rec.body)["subject"], "a web activation is its owner's")

		c := s.client(t)
		_, _, err := c.Actions.Insert(&whisk.Action{Name: "echo",
			Exec: &whisk.Exec{Kind: "blackbox", Image: "epilogue/action-go:latest", Code: &echo},
			Annotations: whisk.KeyValueArr{
				{Key: entity.AnnotationWebExport, Value: true},
				{Key: entity.AnnotationFinal, Value: true},
			},
			Parameters: whisk.KeyValueArr{{Key: "fixed", Value: "by the action"}}}, true)
		require.NoError(t, err)
		echoURL := "/api/v1/web/guest/default/echo"

		t.Run("what the action receives", func(t *testing.T) {
			r := s.curl(t, "POST", echoURL+".json/a/b?quiet=true&q=1", `{"b":2}`, "Content-Type: application/json", "X-Custom: yes")
			require.Equal(t, http.StatusOK, r.status, r.body)
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.body), &got))
			assert.Equal(t, "post", got["__ow_method"])
			assert.Equal(t, "/a/b", got["__ow_path"])
			assert.Equal(t, "1", got["q"])
			assert.Equal(t, 2.0, got["b"])
			assert.Equal(t, "by the action", got["fixed"])
			assert.Equal(t, "yes", got["__ow_headers"].(map[string]any)["x-custom"])
			assert.NotContains(t, got, "__ow_user")
		})
		t.Run("the result chooses the .http answer", func(t *testing.T) {
			r := s.curl(t, "POST", echoURL+"?quiet=true", `{"statusCode":201,"headers":{"X-From":"action"},"body":"<p>made</p>"}`, "Content-Type: application/json")
			assert.Equal(t, http.StatusCreated, r.status, r.body)
			assert.Equal(t, "action", r.header.Get("X-From"))
			assert.Equal(t, "text/html; charset=UTF-8", r.header.Get("Content-Type"))
			assert.Equal(t, "<p>made</p>", r.body)
			assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
		})
		t.Run("refusals", func(t *testing.T) {
			for _, tc := range []struct {
				method, path string
				status       int
			}{
				{"GET", echoURL + ".json?fixed=mine", http.StatusBadRequest},
				{"GET", echoURL + ".json?__ow_method=put", http.StatusBadRequest},
				{"GET", "/api/v1/web/guest/default/missing.json", http.StatusNotFound},
			} {
				r := s.curl(t, tc.method, tc.path, "")
				assert.Equal(t, tc.status, r.status, "%s %s: %s", tc.method, tc.path, r.body)
				assert.Contains(t, decodeMap(t, r.body), "code")
			}
			r := s.curl(t, "OPTIONS", echoURL+".json", "")
			assert.Equal(t, http.StatusOK, r.status)
			assert.Equal(t, "OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH", r.header.Get("Access-Control-Allow-Methods"))
		})
		t.Run("raw-http", func(t *testing.T) {
			_, _, err := c.Actions.Insert(&whisk.Action{Name: "echo",
				Annotations: whisk.KeyValueArr{{Key: entity.AnnotationWebExport, Value: true}, {Key: entity.AnnotationRawHTTP, Value: true}}}, true)
			require.NoError(t, err)
			r := s.curl(t, "PUT", echoURL+".json?quiet=true", "plain words", "Content-Type: text/plain")
			require.Equal(t, http.StatusOK, r.status, r.body)
			got := decodeMap(t, r.body)
			assert.Equal(t, "plain words", got["__ow_body"])
			assert.Equal(t, "quiet=true", got["__ow_query"])
		})
		t.Run("a non-web action", func(t *testing.T) {
			_, _, err := c.Actions.Insert(&whisk.Action{Name: "echo",
				Annotations: whisk.KeyValueArr{{Key: entity.AnnotationWebExport, Value: false}}}, true)
			require.NoError(t, err)
			r := s.curl(t, "GET", echoURL+".json", "")
			assert.Equal(t, http.StatusNotFound, r.status, r.body)
			assert.Equal(t, "The requested resource does not exist.", decodeMap(t, r.body)["error"])
		})
	})
}

// TestStandaloneSmallerDifferences: a payload over OpenWhisk's 1 MiB is 413
// before anything runs, and the lines an action prints just before it
// exits are in its logs; on each backend, with a real action.
func TestStandaloneSmallerDifferences(t *testing.T) {
	zip := base64.StdEncoding.EncodeToString(actionZip(t, "tests/testaction"))
	onEachBackend(t, func(t *testing.T, s *server) {
		s.createAction(t, "act", zip, "")
		big := `{"a":"` + strings.Repeat("x", 1<<20) + `"}`
		r := s.wsk(t, "POST", "/api/v1/namespaces/_/actions/act?blocking=true", big)
		assert.Equal(t, http.StatusRequestEntityTooLarge, r.status, r.body)
		assert.Equal(t, fmt.Sprintf("Request larger than allowed: %d > 1048576 bytes.", len(big)), decodeMap(t, r.body)["error"])
		assert.Empty(t, r.header.Get("X-Openwhisk-Activation-Id"))
		// openwhisk-client-go reports it as wsk does: exit code 413-256.
		_, _, err := s.client(t).Actions.Invoke("act", map[string]any{"a": strings.Repeat("x", 1<<20)}, true, false)
		var werr *whisk.WskError
		require.ErrorAs(t, err, &werr)
		assert.Equal(t, http.StatusRequestEntityTooLarge-256, werr.ExitCode)
		r = s.wsk(t, "GET", "/api/v1/namespaces/_/activations?name=act", "")
		assert.Equal(t, "[]", r.body, "no activation was started")

		const lines = 100
		r = s.wsk(t, "POST", "/api/v1/namespaces/_/actions/act?blocking=true", fmt.Sprintf(`{"crash":true,"crash_lines":%d}`, lines))
		require.Equal(t, http.StatusBadGateway, r.status, r.body)
		id := decodeMap(t, r.body)["activationId"].(string)
		r = s.wsk(t, "GET", "/api/v1/namespaces/_/activations/"+id+"/logs", "")
		require.Equal(t, http.StatusOK, r.status, r.body)
		var logs struct{ Logs []string }
		require.NoError(t, json.Unmarshal([]byte(r.body), &logs))
		for i := 1; i <= lines; i++ {
			assert.True(t, hasSuffix(logs.Logs, fmt.Sprintf("stdout: crash line %d", i)), "line %d is missing: %v", i, logs.Logs)
		}
	})
}

func hasSuffix(lines []string, suffix string) bool {
	for _, l := range lines {
		if strings.HasSuffix(l, suffix) {
			return true
		}
	}
	return false
}
