package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func newRecorder(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.SetBasicAuth(GuestUUID, GuestKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, Config{MaxBody: 4096}, nil, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "act", imgAction)
	_, err := f.st.PutPackage(entity.Package{Namespace: "other", Name: "secret"}, false)
	require.NoError(t, err)
	big := `{"exec":{"kind":"blackbox","image":"i","code":"` + strings.Repeat("A", 5000) + `"}}`
	tests := []struct {
		name, auth, method, path, body string
		status                         int
		msg                            string
	}{
		{"no auth", "", "GET", "/api/v1/namespaces/_/actions", "", 401, msgUnauthorized},
		{"wrong key", GuestUUID + ":nope", "GET", "/api/v1/namespaces/_/actions", "", 401, msgUnauthorized},
		{"unknown user", "someone:" + GuestKey, "GET", "/api/v1/namespaces/_/actions", "", 401, msgUnauthorized},
		{"no auth on unknown path", "", "GET", "/api/v1/namespaces/_/nothing", "", 401, msgUnauthorized},
		{"other namespace", guestAuth, "GET", "/api/v1/namespaces/whisk.system/actions", "", 403, "The supplied authentication is not authorized to access 'whisk.system'."},
		{"other namespace invoke", guestAuth, "POST", "/api/v1/namespaces/other/actions/act", "{}", 403, ""},
		{"unknown path", guestAuth, "GET", "/api/v1/namespaces/_/quotas", "", 404, msgNotFound},
		{"limits of another namespace", guestAuth, "GET", "/api/v1/namespaces/other/limits", "", 403, ""},
		{"count with docs", guestAuth, "GET", "/api/v1/namespaces/_/activations?count=true&docs=true", "", 400, msgDocsWithCount},
		{"count not a bool", guestAuth, "GET", "/api/v1/namespaces/_/actions?count=1", "", 400, ""},
		{"count with a bad skip", guestAuth, "GET", "/api/v1/namespaces/_/rules?count=true&skip=-1", "", 400, ""},
		{"trigger malformed", guestAuth, "PUT", "/api/v1/namespaces/_/triggers/t", `{"parameters":`, 400, ""},
		{"fire a missing trigger", guestAuth, "POST", "/api/v1/namespaces/_/triggers/missing", "{}", 404, msgNotFound},
		{"fire with a non-object", guestAuth, "POST", "/api/v1/namespaces/_/triggers/missing", "[1]", 404, msgNotFound},
		{"rule missing", guestAuth, "GET", "/api/v1/namespaces/_/rules/r", "", 404, msgNotFound},
		{"rule without a trigger", guestAuth, "PUT", "/api/v1/namespaces/_/rules/r", `{"action":"/_/act"}`, 400, ""},
		{"rule of a missing trigger", guestAuth, "PUT", "/api/v1/namespaces/_/rules/r", `{"trigger":"/_/nope","action":"/_/act"}`, 404, msgNotFound},
		{"rule of a missing action", guestAuth, "PUT", "/api/v1/namespaces/_/rules/r", `{"trigger":"/_/nope","action":"/_/nope"}`, 404, msgNotFound},
		{"rule state malformed", guestAuth, "POST", "/api/v1/namespaces/_/rules/r", `{"status":"on"}`, 400, ""},
		{"triggers list needs auth", "", "GET", "/api/v1/namespaces/_/triggers", "", 401, msgUnauthorized},
		{"namespaces need auth", "", "GET", "/api/v1/namespaces", "", 401, msgUnauthorized},
		{"action in a missing package", guestAuth, "PUT", "/api/v1/namespaces/_/actions/nopkg/x", imgAction, 404, msgNotFound},
		{"list of a missing package", guestAuth, "GET", "/api/v1/namespaces/_/actions/nopkg/", "", 404, msgNotFound},
		{"invoke in a missing package", guestAuth, "POST", "/api/v1/namespaces/_/actions/nopkg/x", "{}", 404, msgNotFound},
		{"package reserved name", guestAuth, "PUT", "/api/v1/namespaces/_/packages/default", "{}", 400, "Package name 'default' is reserved."},
		{"package malformed JSON", guestAuth, "PUT", "/api/v1/namespaces/_/packages/p", `{"parameters":`, 400, ""},
		{"package parameters not an array", guestAuth, "PUT", "/api/v1/namespaces/_/packages/p", `{"parameters":{"a":1}}`, 400, ""},
		{"package bad binding name", guestAuth, "PUT", "/api/v1/namespaces/_/packages/p", `{"binding":{"namespace":"_","name":"$x"}}`, 400, ""},
		{"binding of a missing package", guestAuth, "PUT", "/api/v1/namespaces/_/packages/p", `{"binding":{"namespace":"_","name":"missing"}}`, 400, "Binding references a package that does not exist."},
		{"package body over limit", guestAuth, "PUT", "/api/v1/namespaces/_/packages/p", `{"parameters":[{"key":"a","value":"` + strings.Repeat("x", 5000) + `"}]}`, 413, ""},
		{"package in another namespace", guestAuth, "GET", "/api/v1/namespaces/other/packages", "", 403, ""},
		{"binding of another namespace's unpublished package", guestAuth, "PUT", "/api/v1/namespaces/_/packages/b", `{"binding":{"namespace":"other","name":"secret"}}`, 403, "The supplied authentication is not authorized to access 'other/secret'."},
		{"package force not a bool", guestAuth, "DELETE", "/api/v1/namespaces/_/packages/p?force=1", "", 400, ""},
		{"package missing", guestAuth, "GET", "/api/v1/namespaces/_/packages/missing", "", 404, msgNotFound},
		{"unknown root path", "", "GET", "/api/v2", "", 404, msgNotFound},
		{"method not allowed", guestAuth, "PATCH", "/api/v1/namespaces/_/actions/act", "", 405, ""},
		{"limit above 200", guestAuth, "GET", "/api/v1/namespaces/_/actions?limit=201", "", 400, ""},
		{"activations limit above 200", guestAuth, "GET", "/api/v1/namespaces/_/activations?limit=201", "", 400, ""},
		{"negative skip", guestAuth, "GET", "/api/v1/namespaces/_/actions?skip=-1", "", 400, ""},
		{"since not a number", guestAuth, "GET", "/api/v1/namespaces/_/activations?since=yesterday", "", 400, ""},
		{"docs not a bool", guestAuth, "GET", "/api/v1/namespaces/_/activations?docs=maybe", "", 400, ""},
		{"overwrite not a bool", guestAuth, "PUT", "/api/v1/namespaces/_/actions/x?overwrite=yes", imgAction, 400, ""},
		{"malformed action JSON", guestAuth, "PUT", "/api/v1/namespaces/_/actions/x", `{"exec":`, 400, ""},
		{"wrong type in action", guestAuth, "PUT", "/api/v1/namespaces/_/actions/x", `{"exec":{"kind":"blackbox","image":"i"},"limits":{"timeout":"long"}}`, 400, ""},
		{"not blackbox", guestAuth, "PUT", "/api/v1/namespaces/_/actions/x", `{"exec":{"kind":"nodejs:20","code":"x"}}`, 400, ""},
		{"bad name", guestAuth, "PUT", "/api/v1/namespaces/_/actions/a/b/c", imgAction, 400, ""},
		{"action body over limit", guestAuth, "PUT", "/api/v1/namespaces/_/actions/x", big, 413, ""},
		{"invoke body over limit", guestAuth, "POST", "/api/v1/namespaces/_/actions/act", `{"a":"` + strings.Repeat("x", 5000) + `"}`, 413, ""},
		{"invoke malformed JSON", guestAuth, "POST", "/api/v1/namespaces/_/actions/act?blocking=true", `{"a":`, 400, ""},
		{"invoke array body", guestAuth, "POST", "/api/v1/namespaces/_/actions/act", `[1]`, 400, ""},
		{"invoke null body", guestAuth, "POST", "/api/v1/namespaces/_/actions/act", `null`, 400, ""},
		{"invoke timeout too big", guestAuth, "POST", "/api/v1/namespaces/_/actions/act?blocking=true&timeout=60001", "{}", 400, ""},
		{"invoke blocking not a bool", guestAuth, "POST", "/api/v1/namespaces/_/actions/act?blocking=1", "{}", 400, ""},
		{"invoke missing action", guestAuth, "POST", "/api/v1/namespaces/_/actions/missing", "{}", 404, msgNotFound},
		{"activation logs missing", guestAuth, "GET", "/api/v1/namespaces/_/activations/abc/logs", "", 404, msgNotFound},
		{"activation result missing", guestAuth, "GET", "/api/v1/namespaces/_/activations/abc/result", "", 404, msgNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := f.do(t, tt.auth, tt.method, tt.path, tt.body)
			assertError(t, tt.status, tt.msg, status, h, body)
		})
	}
	status, _, body := f.do(t, guestAuth, "GET", "/api/v1/namespaces/_/actions/act", "")
	assert.Equal(t, http.StatusOK, status, body)
	assert.Empty(t, f.inv.params, "no bad request reached the invoker")
}

func TestInfoAndConfig(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	status, _, body := f.do(t, "", "GET", "/api/v1", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "v1", decode(t, body)["api_version_path"])

	// GET / is the controller's info: wskdeploy reads the runtimes manifest.
	status, _, body = f.do(t, "", "GET", "/", "")
	assert.Equal(t, http.StatusOK, status)
	root := decode(t, body)
	assert.Equal(t, []any{"/api/v1"}, root["api_paths"])
	assert.Equal(t, map[string]any{
		"blackbox": []any{map[string]any{"kind": "blackbox", "image": RuntimeImage,
			"deprecated": false, "default": true, "attached": false, "requireMain": false}},
		"go": []any{map[string]any{"kind": "go:1.22", "image": RuntimeImage,
			"deprecated": false, "default": true, "attached": false, "requireMain": false}},
	}, root["runtimes"])
	assert.Equal(t, float64(entity.MaxTimeoutMs), root["limits"].(map[string]any)["max_action_duration"])
	status, hdr, body := f.do(t, "", "GET", "/ping", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "pong", body)
	assert.Equal(t, "text/plain; charset=UTF-8", hdr.Get("Content-Type"))

	_, err := New(Config{})
	assert.ErrorIs(t, err, ErrConfig)
	_, err = New(Config{Store: f.st, MaxBody: -1})
	assert.ErrorIs(t, err, ErrConfig)

	// Custom keys: the namespace of a uuid other than guest's is the uuid.
	h, err := New(Config{Store: f.st, Keys: map[string]string{"alice": "secret"}})
	require.NoError(t, err)
	req := httptest.NewRequest("PUT", "/api/v1/namespaces/_/actions/a", strings.NewReader(imgAction))
	req.SetBasicAuth("alice", "secret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "alice", decode(t, rec.Body.String())["namespace"])
	rec = newRecorder(h, "GET", "/api/v1/namespaces/_/actions", "")
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "the guest key is not accepted when Keys is set")
}
