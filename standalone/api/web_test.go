package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// webAction is what wsk action create --web true stores, with a parameter.
const webAction = `{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"key":"greeting","value":"hello"}],` +
	`"annotations":[{"key":"web-export","value":true},{"key":"raw-http","value":false},{"key":"final","value":true}]}`

// lastParams is the parameters of the fixture's last activation.
func (f *fixture) lastParams(t *testing.T) map[string]any {
	t.Helper()
	f.inv.mu.Lock()
	defer f.inv.mu.Unlock()
	require.NotEmpty(t, f.inv.params, "no activation was started")
	return decode(t, f.inv.params[len(f.inv.params)-1])
}

// TestWebArguments: the request's method, headers, path, query and body
// reach the action as the controller passes them, merged over the action's
// parameters, or boxed as __ow_query and __ow_body for raw-http.
func TestWebArguments(t *testing.T) {
	rawAction := `{"exec":{"kind":"blackbox","image":"i"},"annotations":[{"key":"web-export","value":true},{"key":"raw-http","value":true}]}`
	tests := []struct {
		name, action, method, path, body string
		headers                          []string
		want                             map[string]any // keys that must hold these values
		absent                           []string
	}{
		{"query on GET", webAction, "GET", "/api/v1/web/guest/default/w.json?name=x", "", nil,
			map[string]any{"name": "x", "greeting": "hello", "__ow_method": "get", "__ow_path": ""}, []string{"__ow_user", "__ow_body", "__ow_query"}},
		{"JSON body merged after the query", webAction, "POST", "/api/v1/web/guest/default/w.json?a=1&b=2", `{"b":{"c":3}}`, []string{"Content-Type: application/json"},
			map[string]any{"a": "1", "b": map[string]any{"c": float64(3)}, "__ow_method": "post"}, []string{"__ow_body"}},
		{"form body", webAction, "PUT", "/api/v1/web/guest/default/w.json", "a=1&b=two", []string{"Content-Type: application/x-www-form-urlencoded"},
			map[string]any{"a": "1", "b": "two", "__ow_method": "put"}, nil},
		{"text body", webAction, "POST", "/api/v1/web/guest/default/w.json", "hello there", []string{"Content-Type: text/plain"},
			map[string]any{"__ow_body": "hello there"}, nil},
		{"binary body is base64", webAction, "POST", "/api/v1/web/guest/default/w.json", "\x00\x01\xff", []string{"Content-Type: application/octet-stream"},
			map[string]any{"__ow_body": base64.StdEncoding.EncodeToString([]byte("\x00\x01\xff"))}, nil},
		{"JSON array body", webAction, "POST", "/api/v1/web/guest/default/w.json", `[1,2]`, []string{"Content-Type: application/json"},
			map[string]any{"__ow_body": []any{float64(1), float64(2)}}, nil},
		{"path after the action", webAction, "DELETE", "/api/v1/web/guest/default/w.json/x/y", "", nil,
			map[string]any{"__ow_path": "/x/y", "__ow_method": "delete"}, nil},
		{"credentials name the user", webAction, "GET", "/api/v1/web/guest/default/w.json", "", []string{"Authorization: " + guestAuth},
			map[string]any{"__ow_user": "guest"}, nil},
		{"wrong credentials are anonymous", webAction, "GET", "/api/v1/web/guest/default/w.json", "", []string{"Authorization: " + GuestUUID + ":wrong"},
			map[string]any{"__ow_method": "get"}, []string{"__ow_user"}},
		{"raw: query and body boxed", rawAction, "POST", "/api/v1/web/guest/default/w.json?q=1&r=%20", `{"a":1}`, []string{"Content-Type: application/json"},
			map[string]any{"__ow_query": "q=1&r=%20", "__ow_body": base64.StdEncoding.EncodeToString([]byte(`{"a":1}`))}, []string{"a", "q"}},
		{"raw: text body as is", rawAction, "POST", "/api/v1/web/guest/default/w.json", "a=1", []string{"Content-Type: application/x-www-form-urlencoded"},
			map[string]any{"__ow_body": "a=1", "__ow_query": ""}, []string{"a"}},
		{"raw: no body is empty", rawAction, "GET", "/api/v1/web/guest/default/w.json", "", nil,
			map[string]any{"__ow_body": "", "__ow_query": ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"ok":true}`)
			f.seedAction(t, "guest", "w", tt.action)
			status, _, body := f.webDo(t, tt.method, tt.path, tt.body, append([]string{"X-Custom-Header: Yes"}, tt.headers...)...)
			require.Equal(t, http.StatusOK, status, body)
			got := f.lastParams(t)
			for k, v := range tt.want {
				assert.Equal(t, v, got[k], k)
			}
			for _, k := range tt.absent {
				assert.NotContains(t, got, k)
			}
			headers := got["__ow_headers"].(map[string]any)
			assert.Equal(t, "Yes", headers["x-custom-header"], "header names are lower case")
			assert.NotEmpty(t, headers["host"])
		})
	}
}

// TestWebRefusals: what the controller refuses before or instead of running
// the action, with its status and message.
func TestWebRefusals(t *testing.T) {
	secret := `{"exec":{"kind":"blackbox","image":"i"},"annotations":[{"key":"web-export","value":true},{"key":"require-whisk-auth","value":"s3cret"}]}`
	number := `{"exec":{"kind":"blackbox","image":"i"},"annotations":[{"key":"web-export","value":true},{"key":"require-whisk-auth","value":42}]}`
	authed := `{"exec":{"kind":"blackbox","image":"i"},"annotations":[{"key":"web-export","value":true},{"key":"require-whisk-auth","value":true}]}`
	notWeb := `{"exec":{"kind":"blackbox","image":"i"},"annotations":[{"key":"web-export","value":false}]}`
	stringTrue := `{"exec":{"kind":"blackbox","image":"i"},"annotations":[{"key":"web-export","value":"true"}]}`
	finalNull := `{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"key":"greeting","value":null}],"annotations":[{"key":"web-export","value":true},{"key":"final","value":true}]}`
	big := `{"a":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name, action, method, path, body string
		headers                          []string
		status                           int
		msg                              string // "" = the action ran and answered 200
	}{
		{"not a web action", notWeb, "GET", "/api/v1/web/guest/default/w.json", "", nil, 404, msgNotFound},
		{"web-export must be JSON true", stringTrue, "GET", "/api/v1/web/guest/default/w.json", "", nil, 404, msgNotFound},
		{"no such action", webAction, "GET", "/api/v1/web/guest/default/nope.json", "", nil, 404, msgNotFound},
		{"no such package", webAction, "GET", "/api/v1/web/guest/pkg/w.json", "", nil, 404, msgNotFound},
		{"no such namespace", webAction, "GET", "/api/v1/web/other/default/w.json", "", nil, 404, msgNotFound},
		{"no action segment", webAction, "GET", "/api/v1/web/guest/default", "", nil, 404, msgNotFound},
		{"reserved parameter in the query", webAction, "GET", "/api/v1/web/guest/default/w.json?__ow_method=put", "", nil, 400, msgParametersNotAllowed},
		{"reserved parameter in the body", webAction, "POST", "/api/v1/web/guest/default/w.json", `{"__ow_user":"root"}`, []string{"Content-Type: application/json"}, 400, msgParametersNotAllowed},
		{"final parameter", webAction, "GET", "/api/v1/web/guest/default/w.json?greeting=bye", "", nil, 400, msgParametersNotAllowed},
		{"final parameter without a value", finalNull, "GET", "/api/v1/web/guest/default/w.json?greeting=bye", "", nil, 200, ""},
		{"malformed JSON", webAction, "POST", "/api/v1/web/guest/default/w.json", `{"a":`, []string{"Content-Type: application/json"}, 400, ""},
		{"body over 1 MiB", webAction, "POST", "/api/v1/web/guest/default/w.json", big, []string{"Content-Type: application/json"}, 413,
			"Request larger than allowed: 1048584 > 1048576 bytes."},
		{"body over 1 MiB to no action", webAction, "POST", "/api/v1/web/guest/default/nope.json", big, []string{"Content-Type: application/json"}, 413,
			"Request larger than allowed: 1048584 > 1048576 bytes."},
		{"secret missing", secret, "GET", "/api/v1/web/guest/default/w.json", "", nil, 401, msgUnauthorized},
		{"secret wrong", secret, "GET", "/api/v1/web/guest/default/w.json", "", []string{"X-Require-Whisk-Auth: guess"}, 401, msgUnauthorized},
		{"secret right", secret, "GET", "/api/v1/web/guest/default/w.json", "", []string{"X-Require-Whisk-Auth: s3cret"}, 200, ""},
		{"numeric secret right", number, "GET", "/api/v1/web/guest/default/w.json", "", []string{"X-Require-Whisk-Auth: 42"}, 200, ""},
		{"credentials missing", authed, "GET", "/api/v1/web/guest/default/w.json", "", nil, 401, msgUnauthorized},
		{"credentials given", authed, "GET", "/api/v1/web/guest/default/w.json", "", []string{"Authorization: " + guestAuth}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"ok":true}`)
			f.seedAction(t, "guest", "w", tt.action)
			status, h, body := f.webDo(t, tt.method, tt.path, tt.body, tt.headers...)
			f.assertRanOrRefused(t, tt.status, tt.msg, status, h, body)
		})
	}
}

// TestWebResults: the result rendered by the extension, as the controller
// renders it.
func TestWebResults(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n")
	tests := []struct {
		name        string
		status      entity.Status
		result      string
		path        string
		wantStatus  int
		contentType string
		body        string // JSON compared as JSON when contentType is JSON
		header      string // "Name: value" the answer must carry
		errMsg      string // for an error answer
	}{
		{".json object", entity.StatusSuccess, `{"a":1,"b":[true]}`, "w.json", 200, "application/json", `{"a":1,"b":[true]}`, "", ""},
		{".json array", entity.StatusSuccess, `[1,2]`, "w.json", 200, "application/json", `[1,2]`, "", ""},
		{".json of a string error", entity.StatusApplicationError, `{"error":"nope"}`, "w.json", 400, "", "", "", msgInvalidMedia("application/json")},
		{".json of an object error", entity.StatusApplicationError, `{"error":{"why":"x"}}`, "w.json", 200, "application/json", `{"why":"x"}`, "", ""},
		{".html", entity.StatusSuccess, `{"html":"<p>hi</p>"}`, "w.html", 200, "text/html; charset=UTF-8", "<p>hi</p>", "", ""},
		{".html prefers body", entity.StatusSuccess, `{"body":"<b>b</b>","html":"<i>h</i>"}`, "w.html", 200, "text/html; charset=UTF-8", "<b>b</b>", "", ""},
		{".html without html", entity.StatusSuccess, `{"a":1}`, "w.html", 400, "", "", "", msgInvalidMedia("text/html")},
		{".svg", entity.StatusSuccess, `{"svg":"<svg/>"}`, "w.svg", 200, "image/svg+xml", "<svg/>", "", ""},
		{".text", entity.StatusSuccess, `{"text":"plain"}`, "w.text", 200, "text/plain; charset=UTF-8", "plain", "", ""},
		{".text of a number", entity.StatusSuccess, `{"text":42}`, "w.text", 200, "text/plain; charset=UTF-8", "42", "", ""},
		{".text without text", entity.StatusSuccess, `{"a":1}`, "w.text", 404, "", "", "", msgPropertyNotFound},
		{".http full", entity.StatusSuccess, `{"statusCode":201,"headers":{"X-A":"1","Set-Cookie":["a=1","b=2"]},"body":"<b>ok</b>"}`, "w.http", 201, "text/html; charset=UTF-8", "<b>ok</b>", "X-A: 1", ""},
		{"no extension is .http", entity.StatusSuccess, `{"body":"hi"}`, "w", 200, "text/html; charset=UTF-8", "hi", "", ""},
		{".http string status", entity.StatusSuccess, `{"statusCode":"302","headers":{"location":"/x"}}`, "w.http", 302, "", "", "Location: /x", ""},
		{".http no body", entity.StatusSuccess, `{}`, "w.http", 204, "", "", "", ""},
		{".http object body", entity.StatusSuccess, `{"body":{"a":1}}`, "w.http", 200, "application/json", `{"a":1}`, "", ""},
		{".http object body as text", entity.StatusSuccess, `{"body":{"a":1},"headers":{"Content-Type":"text/plain"}}`, "w.http", 400, "", "", "", msgHTTPContentTypeError},
		{".http binary", entity.StatusSuccess, `{"headers":{"Content-Type":"image/png"},"body":"` + base64.StdEncoding.EncodeToString(png) + `"}`, "w.http", 200, "image/png", string(png), "", ""},
		{".http binary not base64", entity.StatusSuccess, `{"headers":{"Content-Type":"image/png"},"body":"not base64!"}`, "w.http", 400, "", "", "", msgHTTPContentTypeError},
		{".http json base64 body", entity.StatusSuccess, `{"headers":{"Content-Type":"application/json"},"body":"` + base64.StdEncoding.EncodeToString([]byte(`{"x":1}`)) + `"}`, "w.http", 200, "application/json; charset=UTF-8", `{"x":1}`, "", ""},
		{".http bad status", entity.StatusSuccess, `{"statusCode":"abc"}`, "w.http", 400, "", "", "", msgInvalidMedia("message/http")},
		{".http bad header", entity.StatusSuccess, `{"headers":{"a":{"b":1}}}`, "w.http", 400, "", "", "", msgInvalidMedia("message/http")},
		{".http bad content type", entity.StatusSuccess, `{"headers":{"Content-Type":"///"},"body":"x"}`, "w.http", 400, "", "", "", msgHTTPUnknownContentType},
		{".http of an error", entity.StatusApplicationError, `{"error":{"statusCode":418,"body":"teapot"}}`, "w.http", 418, "text/html; charset=UTF-8", "teapot", "", ""},
		{"developer error", entity.StatusDeveloperError, `{"error":"crashed"}`, "w.json", 400, "", "", "", msgErrorProcessingRequest},
		{"whisk error", entity.StatusWhiskError, `{"error":"lost"}`, "w.http", 400, "", "", "", msgErrorProcessingRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil, tt.status, tt.result)
			f.seedAction(t, "guest", "w", webAction)
			status, h, body := f.webDo(t, "GET", "/api/v1/web/guest/default/"+tt.path, "")
			assert.Regexp(t, `^[0-9a-f]{32}$`, h.Get(HeaderActivationID))
			assert.Equal(t, "*", h.Get("Access-Control-Allow-Origin"))
			if tt.errMsg != "" {
				assertError(t, tt.wantStatus, tt.errMsg, status, h, body)
				return
			}
			require.Equal(t, tt.wantStatus, status, body)
			assert.Equal(t, tt.contentType, h.Get("Content-Type"))
			if strings.HasPrefix(tt.contentType, "application/json") {
				assert.JSONEq(t, tt.body, body)
			} else {
				assert.Equal(t, tt.body, body)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				assert.Equal(t, v, h.Get(k))
			}
		})
	}
	t.Run("multiple values of one header", func(t *testing.T) {
		f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"headers":{"Set-Cookie":["a=1","b=2"]},"body":"x"}`)
		f.seedAction(t, "guest", "w", webAction)
		_, h, _ := f.webDo(t, "GET", "/api/v1/web/guest/default/w.http", "")
		assert.Equal(t, []string{"a=1", "b=2"}, h.Values("Set-Cookie"))
	})
}

// TestWebOptions: OPTIONS answers the controller's CORS headers without
// running the action, unless the action handles OPTIONS itself.
func TestWebOptions(t *testing.T) {
	custom := `{"exec":{"kind":"blackbox","image":"i"},"annotations":[{"key":"web-export","value":true},{"key":"web-custom-options","value":true}]}`
	tests := []struct {
		name, action string
		headers      []string
		wantRun      bool
		allowHeaders string
	}{
		{"default", webAction, nil, false, corsAllowHeaders},
		{"requested headers are allowed", webAction, []string{"Access-Control-Request-Headers: X-Mine"}, false, "X-Mine"},
		{"custom options run the action", custom, nil, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"example.com"}}`)
			f.seedAction(t, "guest", "w", tt.action)
			status, h, body := f.webDo(t, "OPTIONS", "/api/v1/web/guest/default/w.http", "", tt.headers...)
			assert.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, tt.wantRun, f.started() > 0)
			if tt.wantRun {
				assert.Equal(t, "example.com", h.Get("Access-Control-Allow-Origin"))
				assert.Equal(t, "options", f.lastParams(t)["__ow_method"])
				return
			}
			assert.Empty(t, body)
			assert.Equal(t, "*", h.Get("Access-Control-Allow-Origin"))
			assert.Equal(t, corsAllowMethods, h.Get("Access-Control-Allow-Methods"))
			assert.Equal(t, tt.allowHeaders, h.Get("Access-Control-Allow-Headers"))
		})
	}
}

// TestWebNotReady: a web activation not done within the blocking limit
// answers 202 with its id and the controller's message; it goes on.
func TestWebNotReady(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, Config{BlockingLimit: 20 * time.Millisecond}, release, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "w", webAction)
	status, h, body := f.webDo(t, "GET", "/api/v1/web/guest/default/w.json", "")
	assertError(t, http.StatusAccepted, msgResponseNotReady, status, h, body)
	id := h.Get(HeaderActivationID)
	require.Regexp(t, `^[0-9a-f]{32}$`, id)
	close(release)
	f.inv.wg.Wait()
	_, err := f.st.GetActivation("guest", id)
	require.NoError(t, err, "the activation finished after the answer")
}

// TestWebRunsAsTheOwner: the activation belongs to the action's namespace,
// whoever calls.
func TestWebRunsAsTheOwner(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "w", webAction)
	status, _, body := f.webDo(t, "GET", "/api/v1/web/guest/default/w.json", "")
	require.Equal(t, http.StatusOK, status, body)
	f.inv.mu.Lock()
	defer f.inv.mu.Unlock()
	assert.Equal(t, []string{"guest " + guestAuth}, f.inv.subjects)
}

func TestParseWebPath(t *testing.T) {
	tests := []struct {
		path string
		want webTarget
		ok   bool
	}{
		{"guest/default/hello.json", webTarget{namespace: "guest", action: "hello", ext: extJSON}, true},
		{"guest/default/hello", webTarget{namespace: "guest", action: "hello", ext: extHTTP}, true},
		{"guest/pkg/hello.text/a/b", webTarget{namespace: "guest", pkg: "pkg", action: "hello", ext: extText, rest: "/a/b"}, true},
		{"guest/default/hello.xml", webTarget{namespace: "guest", action: "hello.xml", ext: extHTTP}, true},
		{"guest/default/hello.svg/", webTarget{namespace: "guest", action: "hello", ext: extSVG, rest: "/"}, true},
		{"guest/default/.json", webTarget{}, false},
		{"guest/default", webTarget{}, false},
		{"guest//hello", webTarget{}, false},
		{"/default/hello", webTarget{}, false},
		{"guest/default/-bad", webTarget{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := parseWebPath(tt.path)
			assert.Equal(t, tt.ok, ok)
			if tt.ok {
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

// FuzzParseWebPath: any path parses or is refused without panicking, and a
// parsed one names valid entities and a known extension.
func FuzzParseWebPath(f *testing.F) {
	for _, s := range []string{"guest/default/hello.json", "guest/p/a.http/x/y", "a/b", "", "g/default/.text", "g/d/a b.html"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		got, ok := parseWebPath(path)
		if !ok {
			return
		}
		require.NoError(t, entity.ValidateName(got.namespace))
		require.NoError(t, entity.ValidateName(got.action))
		require.Contains(t, webExtensions, got.ext)
		require.True(t, got.rest == "" || strings.HasPrefix(got.rest, "/"))
	})
}

// FuzzDecodeWebBody: any body and content type decode to JSON or a 400.
func FuzzDecodeWebBody(f *testing.F) {
	f.Add("application/json", []byte(`{"a":1}`), false)
	f.Add("application/x-www-form-urlencoded", []byte("a=1&b=%zz"), false)
	f.Add("text/plain; charset=latin1", []byte("\xff"), true)
	f.Add("", []byte("\x00"), false)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, raw bool) {
		v, err := decodeWebBody(contentType, body, raw)
		if err != nil {
			require.ErrorIs(t, err, errBadRequest)
			return
		}
		if len(body) == 0 {
			require.Nil(t, v)
			return
		}
		require.True(t, json.Valid(v), "%q", v)
	})
}

// FuzzRenderWeb: whatever JSON an action answers, every extension renders
// it or refuses it with the controller's status and message.
func FuzzRenderWeb(f *testing.F) {
	f.Add(".http", `{"statusCode":201,"headers":{"a":["1",2,true]},"body":"x"}`)
	f.Add(".http", `{"headers":{"Content-Type":"image/png"},"body":"AAAA"}`)
	f.Add(".json", `[1,{"a":null}]`)
	f.Add(".text", `{"text":1.5e300}`)
	f.Add(".html", `"<p>"`)
	f.Fuzz(func(t *testing.T, ext, result string) {
		if !json.Valid([]byte(result)) {
			return // results are JSON: the pool stores nothing else
		}
		ans, err := renderWeb(webExtension(ext), json.RawMessage(result))
		if err != nil {
			var refused errWebResult
			require.ErrorAs(t, err, &refused)
			require.NotEmpty(t, http.StatusText(refused.status))
			return
		}
		require.NotEmpty(t, http.StatusText(ans.status), "status %d", ans.status)
	})
}
