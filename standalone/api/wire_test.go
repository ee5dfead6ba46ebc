package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// TestWskRequests replays, byte for byte, the requests the wsk CLI and
// openwhisk-client-go send (nine captured ones, then one per wsk command:
// action create, update, get, list, delete, invoke blocking and not,
// activation get, list, logs, result, Go source and --native creates; with
// the guest key instead of the capture's user:pass), in order against one
// server.
// goSourceJSON is a main.go as wsk sends it: the file's text, a JSON string.
const goSourceJSON = `"package main\n\nfunc Hello(obj map[string]interface{}) map[string]interface{} {\n\treturn obj\n}\n"`

func TestWskRequests(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"greeting":"hi"}`)
	zip := base64.StdEncoding.EncodeToString([]byte("PK\x03\x04\x0a\x00 zip"))
	require.NoError(t, f.st.PutActivation(entity.Activation{
		Namespace: "guest", Name: "hello", ActivationID: "f1e2d3c4b5a697881a2b3c4d5e6f7a8b",
		Start: 5, End: 7, Response: entity.NewResponse(entity.StatusSuccess, []byte(`{"ok":true}`)),
	}))

	type check func(t *testing.T, h http.Header, body string)
	isAction := func(name, image string, binary bool) check {
		return func(t *testing.T, _ http.Header, body string) {
			m := decode(t, body)
			assert.Equal(t, name, m["name"])
			exec := m["exec"].(map[string]any)
			assert.Equal(t, "blackbox", exec["kind"])
			assert.Equal(t, image, exec["image"])
			assert.Equal(t, binary, exec["binary"])
			assert.NotContains(t, exec, "code")
		}
	}
	isActivation := func(t *testing.T, h http.Header, body string) {
		m := decode(t, body)
		assert.Regexp(t, `^[0-9a-f]{32}$`, m["activationId"])
		assert.Equal(t, h.Get(HeaderActivationID), m["activationId"])
		assert.Equal(t, map[string]any{"status": "success", "success": true, "result": map[string]any{"greeting": "hi"}}, m["response"])
		assert.NotContains(t, m["response"], "statusCode")
	}
	isAccepted := func(t *testing.T, h http.Header, body string) {
		m := decode(t, body)
		assert.Len(t, m, 1)
		assert.Equal(t, h.Get(HeaderActivationID), m["activationId"])
		assert.Regexp(t, `^[0-9a-f]{32}$`, m["activationId"])
	}

	tests := []struct {
		name, method, path, body string
		status                   int
		check                    check
	}{
		{"wsk: package create /guest/pkg", "PUT", "/api/v1/namespaces/guest/packages/pkg?overwrite=false", `{"namespace":"guest","name":"pkg"}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, "guest", m["namespace"])
				assert.Equal(t, "pkg", m["name"])
				assert.Equal(t, "0.0.1", m["version"])
				assert.Equal(t, map[string]any{}, m["binding"])
				assert.Equal(t, []any{}, m["parameters"])
			}},
		{"captured 1: wsk create packaged raw script", "PUT", "/api/v1/namespaces/guest/actions/pkg/qa?overwrite=false",
			`{"namespace":"guest","name":"pkg/qa","exec":{"kind":"blackbox","code":"#!/bin/sh\necho hi\n","image":"example/img"}}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, "guest/pkg", m["namespace"])
				isAction("qa", "example/img", false)(t, nil, body)
			}},
		{"setup myact, qa", "PUT", "/api/v1/namespaces/_/actions/qa?overwrite=false", imgAction, 200, isAction("qa", "example/img:latest", false)},
		{"captured 2: non-blocking invoke", "POST", "/api/v1/namespaces/guest/actions/qa?blocking=false&result=false", `{"x":{"a":1}}`, 202, isAccepted},
		{"wsk: create with --docker and zip", "PUT", "/api/v1/namespaces/_/actions/myact?overwrite=false",
			`{"namespace":"_","name":"myact","exec":{"kind":"blackbox","code":"` + zip + `","image":"example/img:latest","main":"main"},"limits":{"timeout":30000,"memory":256,"logs":5,"concurrency":1}}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				isAction("myact", "example/img:latest", true)(t, nil, body)
				m := decode(t, body)
				assert.Equal(t, "guest", m["namespace"])
				assert.Equal(t, "0.0.1", m["version"])
				assert.Equal(t, map[string]any{"timeout": 30000.0, "memory": 256.0, "logs": 5.0, "concurrency": 1.0}, m["limits"])
				assert.Contains(t, m["annotations"], map[string]any{"key": "exec", "value": "blackbox"})
			}},
		{"wsk: create again without overwrite", "PUT", "/api/v1/namespaces/_/actions/myact?overwrite=false", imgAction, 409, nil},
		{"wsk: create without file", "PUT", "/api/v1/namespaces/_/actions/myact2?overwrite=false",
			`{"namespace":"_","name":"myact2","exec":{"kind":"blackbox","image":"example/img:latest"}}`, 200, isAction("myact2", "example/img:latest", false)},
		{"captured 3: update step 1", "GET", "/api/v1/namespaces/_/actions/myact?code=false", "", 200, isAction("myact", "example/img:latest", true)},
		{"captured 4: update step 2", "PUT", "/api/v1/namespaces/_/actions/myact?overwrite=true",
			`{"namespace":"_","name":"myact","exec":{"kind":"blackbox","image":"example/img:2"}}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				isAction("myact", "example/img:2", false)(t, nil, body)
				m := decode(t, body)
				assert.Equal(t, "0.0.2", m["version"])
				assert.Equal(t, 30000.0, m["limits"].(map[string]any)["timeout"], "update keeps absent fields")
			}},
		{"wsk: get with code", "GET", "/api/v1/namespaces/_/actions/pkg/qa?code=true", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, "#!/bin/sh\necho hi\n", decode(t, body)["exec"].(map[string]any)["code"])
			}},
		{"wsk: get missing", "GET", "/api/v1/namespaces/_/actions/missing?code=false", "", 404, nil},
		{"captured 5: delete missing", "DELETE", "/api/v1/namespaces/_/actions/missing", "", 404, nil},
		{"wsk: action list", "GET", "/api/v1/namespaces/_/actions?limit=30&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Contains(t, body, `"name":"myact2"`)
				assert.NotContains(t, body, `"code"`)
			}},
		{"captured 6: invoke -b -r", "POST", "/api/v1/namespaces/_/actions/myact?blocking=true&result=true", `{}`, 200,
			func(t *testing.T, h http.Header, body string) {
				assert.JSONEq(t, `{"greeting":"hi"}`, body)
				assert.Regexp(t, `^[0-9a-f]{32}$`, h.Get(HeaderActivationID))
			}},
		{"wsk: invoke -b -r with -p", "POST", "/api/v1/namespaces/_/actions/myact?blocking=true&result=true", `{"k":"v","n":3}`, 200, nil},
		{"wsk: invoke -b", "POST", "/api/v1/namespaces/_/actions/myact?blocking=true&result=false", `{"k":"v"}`, 200, isActivation},
		{"wsk: invoke non-blocking", "POST", "/api/v1/namespaces/_/actions/myact?blocking=false&result=false", `{"k":"v"}`, 202, isAccepted},
		{"captured 7: client-go insert", "PUT", "/api/v1/namespaces/_/actions/hello?overwrite=true",
			`{"name":"hello","exec":{"kind":"blackbox","code":"UEsDBAo=","image":"example/img:latest"},"limits":{"timeout":30000,"memory":256}}`, 200, isAction("hello", "example/img:latest", true)},
		{"captured 8: client-go invoke", "POST", "/api/v1/namespaces/_/actions/hello?blocking=true&result=false", `{"k":"v"}`, 200, isActivation},
		{"captured 9: client-go activation get", "GET", "/api/v1/namespaces/_/activations/f1e2d3c4b5a697881a2b3c4d5e6f7a8b", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.JSONEq(t, `{"namespace":"guest","name":"hello","version":"","subject":"","activationId":"f1e2d3c4b5a697881a2b3c4d5e6f7a8b","start":5,"end":7,"duration":0,"response":{"status":"success","success":true,"result":{"ok":true}},"logs":[],"annotations":[],"publish":false}`, body)
			}},
		{"wsk: activation logs", "GET", "/api/v1/namespaces/_/activations/f1e2d3c4b5a697881a2b3c4d5e6f7a8b/logs", "", 200,
			func(t *testing.T, _ http.Header, body string) { assert.Equal(t, `{"logs":[]}`, body) }},
		{"wsk: activation result", "GET", "/api/v1/namespaces/_/activations/f1e2d3c4b5a697881a2b3c4d5e6f7a8b/result", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, `{"status":"success","success":true,"result":{"ok":true}}`, body)
			}},
		{"wsk: activation get missing", "GET", "/api/v1/namespaces/_/activations/00000000000000000000000000000000", "", 404, nil},
		{"wsk: activation list", "GET", "/api/v1/namespaces/_/activations?limit=30&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Contains(t, body, `"activationId":"f1e2d3c4b5a697881a2b3c4d5e6f7a8b"`)
				assert.Contains(t, body, `"statusCode":0`)
				assert.NotContains(t, body, `"response"`)
			}},
		{"wsk: activation get --last", "GET", "/api/v1/namespaces/_/activations?limit=1&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, 1, strings.Count(body, "activationId"))
			}},
		{"wsk: activation list with filters", "GET", "/api/v1/namespaces/_/activations?limit=5&name=myact&since=1&skip=2&upto=99999", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				// myact was invoked 4 times above; skip 2 leaves 2.
				assert.Equal(t, 2, strings.Count(body, `"name":"myact"`), body)
				assert.NotContains(t, body, "hello")
			}},
		{"wsk: delete", "DELETE", "/api/v1/namespaces/_/actions/myact2", "", 200, isAction("myact2", "example/img:latest", false)},
		{"wsk: namespace list", "GET", "/api/v1/namespaces", "", 200,
			func(t *testing.T, _ http.Header, body string) { assert.Equal(t, `["guest"]`, body) }},
		{"wsk: package create with -p and -a", "PUT", "/api/v1/namespaces/_/packages/tools?overwrite=false",
			`{"namespace":"_","name":"tools","annotations":[{"key":"description","value":"shared tools"}],"parameters":[{"key":"k","value":"pkg"},{"key":"p","value":1}]}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, "guest", m["namespace"])
				assert.Equal(t, []any{map[string]any{"key": "description", "value": "shared tools"}}, m["annotations"])
				assert.Len(t, m["parameters"], 2)
			}},
		{"wsk: package create again", "PUT", "/api/v1/namespaces/_/packages/tools?overwrite=false", `{"namespace":"_","name":"tools"}`, 409, nil},
		{"wsk: action create in the package", "PUT", "/api/v1/namespaces/_/actions/tools/echo?overwrite=false",
			`{"namespace":"_","name":"tools/echo","exec":{"kind":"blackbox","image":"example/img:latest"},"parameters":[{"key":"k","value":"action"}]}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, "guest/tools", decode(t, body)["namespace"])
			}},
		{"wsk: package bind", "PUT", "/api/v1/namespaces/_/packages/mytools?overwrite=false",
			`{"parameters":[{"key":"p","value":2}],"binding":{"namespace":"_","name":"tools"}}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, map[string]any{"namespace": "guest", "name": "tools"}, m["binding"])
				assert.Contains(t, m["annotations"], map[string]any{"key": "binding", "value": map[string]any{"namespace": "guest", "name": "tools"}})
			}},
		{"wsk: action create in a binding", "PUT", "/api/v1/namespaces/_/actions/mytools/x?overwrite=false", imgAction, 400,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, "Operation not permitted on package binding.", decode(t, body)["error"])
			}},
		{"wsk: package get", "GET", "/api/v1/namespaces/_/packages/tools", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, []any{map[string]any{"name": "echo", "version": "0.0.1", "annotations": []any{
					map[string]any{"key": "exec", "value": "blackbox"}, map[string]any{"key": "provide-api-key", "value": false}}}}, m["actions"])
				assert.Equal(t, []any{}, m["feeds"])
			}},
		{"wsk: package get of a binding", "GET", "/api/v1/namespaces/_/packages/mytools", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, "mytools", m["name"])
				assert.Equal(t, []any{map[string]any{"key": "k", "value": "pkg"}, map[string]any{"key": "p", "value": 2.0}}, m["parameters"], "the binding's parameters over the package's")
				assert.Len(t, m["actions"], 1)
			}},
		{"wsk: package list", "GET", "/api/v1/namespaces/_/packages?limit=30&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				var list []map[string]any
				require.NoError(t, json.Unmarshal([]byte(body), &list))
				binding := map[string]any{}
				for _, p := range list {
					binding[p["name"].(string)] = p["binding"]
					assert.NotContains(t, p, "parameters")
				}
				assert.Equal(t, map[string]any{"mytools": map[string]any{"namespace": "guest", "name": "tools"}, "tools": false, "pkg": false}, binding)
			}},
		{"wsk: action list tools", "GET", "/api/v1/namespaces/_/actions/tools/?limit=30&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, 1, strings.Count(body, `"name":"echo"`), body)
			}},
		{"wsk: action list through the binding", "GET", "/api/v1/namespaces/_/actions/mytools/?limit=30&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Contains(t, body, `"namespace":"guest/tools"`, "the bound package's actions, as the controller lists them")
			}},
		{"wsk: action get through the binding", "GET", "/api/v1/namespaces/_/actions/mytools/echo?code=false", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, []any{map[string]any{"key": "k", "value": "action"}, map[string]any{"key": "p", "value": 2.0}}, decode(t, body)["parameters"])
			}},
		{"wsk: action invoke through the binding", "POST", "/api/v1/namespaces/_/actions/mytools/echo?blocking=true&result=true", `{"q":3}`, 200,
			func(t *testing.T, _ http.Header, _ string) {
				f.inv.mu.Lock()
				defer f.inv.mu.Unlock()
				assert.JSONEq(t, `{"k":"action","p":2,"q":3}`, f.inv.params[len(f.inv.params)-1], "package < binding < action < invoke")
			}},
		{"wsk: namespace get: actions", "GET", "/api/v1/namespaces/_/actions?limit=0&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) { assert.Contains(t, body, `"name":"echo"`) }},
		{"wsk: namespace get: packages", "GET", "/api/v1/namespaces/_/packages?limit=0&skip=0", "", 200, nil},
		{"wsk: namespace get: triggers", "GET", "/api/v1/namespaces/_/triggers?limit=0&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) { assert.Equal(t, `[]`, body, "none yet") }},
		{"wsk: namespace get: rules", "GET", "/api/v1/namespaces/_/rules?limit=0&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) { assert.Equal(t, `[]`, body, "none yet") }},
		{"wsk: package delete, not empty", "DELETE", "/api/v1/namespaces/_/packages/tools", "", 409,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, "Package not empty (contains 1 entity). Set force param or delete package contents.", decode(t, body)["error"])
			}},
		{"wsk: package delete of the binding", "DELETE", "/api/v1/namespaces/_/packages/mytools", "", 200, nil},
		{"wsk: action delete in the package", "DELETE", "/api/v1/namespaces/_/actions/tools/echo", "", 200, nil},
		{"wsk: package delete", "DELETE", "/api/v1/namespaces/_/packages/tools", "", 200,
			func(t *testing.T, _ http.Header, body string) { assert.Equal(t, "tools", decode(t, body)["name"]) }},
		{"wsk: package get missing", "GET", "/api/v1/namespaces/_/packages/tools", "", 404, nil},
		{"wsk: trigger create t -p k v", "PUT", "/api/v1/namespaces/_/triggers/t?overwrite=false", `{"namespace":"_","name":"t","parameters":[{"key":"k","value":"v"}]}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, "guest", m["namespace"])
				assert.Equal(t, map[string]any{}, m["limits"])
			}},
		{"wsk: trigger fire t without rules", "POST", "/api/v1/namespaces/_/triggers/t", `{"x":1}`, 204, nil},
		{"wsk: rule create r t myact", "PUT", "/api/v1/namespaces/_/rules/r?overwrite=false", `{"name":"r","status":"","trigger":"/_/t","action":"/_/myact"}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, "active", m["status"])
				assert.Equal(t, map[string]any{"name": "t", "path": "guest"}, m["trigger"])
				assert.Equal(t, map[string]any{"name": "myact", "path": "guest"}, m["action"])
			}},
		{"wsk: trigger get t", "GET", "/api/v1/namespaces/_/triggers/t", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, map[string]any{"guest/r": map[string]any{"action": map[string]any{"name": "myact", "path": "guest"}, "status": "active"}}, decode(t, body)["rules"])
			}},
		{"wsk: trigger fire t -p x 1", "POST", "/api/v1/namespaces/_/triggers/t", `{"x":1}`, 202,
			func(t *testing.T, _ http.Header, body string) {
				id := decode(t, body)["activationId"].(string)
				rec, err := f.st.GetActivation("guest", id)
				require.NoError(t, err)
				assert.Equal(t, "t", rec.Name)
				assert.JSONEq(t, `{"k":"v","x":1}`, string(rec.Response.Result))
				require.Len(t, rec.Logs, 1)
				var line map[string]any
				require.NoError(t, json.Unmarshal([]byte(rec.Logs[0]), &line))
				assert.Equal(t, "guest/r", line["rule"])
				assert.Equal(t, "guest/myact", line["action"])
				assert.Equal(t, true, line["success"])
				assert.Regexp(t, `^[0-9a-f]{32}$`, line["activationId"])
				f.inv.mu.Lock()
				defer f.inv.mu.Unlock()
				assert.JSONEq(t, `{"k":"v","x":1}`, f.inv.params[len(f.inv.params)-1], "the rule's action gets the trigger's payload")
			}},
		{"wsk: rule disable r", "POST", "/api/v1/namespaces/_/rules/r", `{"status":"inactive"}`, 200,
			func(t *testing.T, _ http.Header, body string) { assert.Equal(t, "inactive", decode(t, body)["status"]) }},
		{"wsk: trigger fire t, rule inactive", "POST", "/api/v1/namespaces/_/triggers/t", `{}`, 204, nil},
		{"wsk: rule enable r", "POST", "/api/v1/namespaces/_/rules/r", `{"status":"active"}`, 200, nil},
		{"wsk: rule list", "GET", "/api/v1/namespaces/_/rules?limit=30&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) { assert.Contains(t, body, `"status":"active"`) }},
		{"wsk: trigger list", "GET", "/api/v1/namespaces/_/triggers?limit=30&skip=0", "", 200,
			func(t *testing.T, _ http.Header, body string) { assert.Contains(t, body, `"name":"t"`) }},
		{"wsk: rule delete r", "DELETE", "/api/v1/namespaces/_/rules/r", "", 200, nil},
		{"wsk: trigger delete t", "DELETE", "/api/v1/namespaces/_/triggers/t", "", 200, nil},
		{"wsk: trigger get missing", "GET", "/api/v1/namespaces/_/triggers/t", "", 404, nil},
		{"wsk: action create s --sequence myact,hello", "PUT", "/api/v1/namespaces/_/actions/s?overwrite=false",
			`{"namespace":"_","name":"s","exec":{"kind":"sequence","components":["/_/myact","/_/hello"]}}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, map[string]any{"kind": "sequence", "binary": false, "components": []any{"/guest/myact", "/guest/hello"}}, decode(t, body)["exec"])
			}},
		{"wsk: action invoke s -b", "POST", "/api/v1/namespaces/_/actions/s?blocking=true&result=false", `{}`, 200,
			func(t *testing.T, h http.Header, body string) {
				isActivation(t, h, body)
				assert.Len(t, decode(t, body)["logs"], 2, "the components' activation ids")
			}},
		{"wsk: action invoke s -r", "POST", "/api/v1/namespaces/_/actions/s?blocking=true&result=true", `{}`, 200,
			func(t *testing.T, _ http.Header, body string) { assert.JSONEq(t, `{"greeting":"hi"}`, body) }},
		{"wsk: action create gohello main.go --kind go:1.22 --main hello", "PUT", "/api/v1/namespaces/_/actions/gohello?overwrite=false",
			`{"namespace":"_","name":"gohello","exec":{"kind":"go:1.22","code":` + goSourceJSON + `,"main":"hello"}}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				m := decode(t, body)
				assert.Equal(t, map[string]any{"kind": "go:1.22", "main": "hello", "binary": false}, m["exec"])
				assert.Contains(t, m["annotations"], map[string]any{"key": "exec", "value": "go:1.22"})
			}},
		{"wsk: action get gohello --save", "GET", "/api/v1/namespaces/_/actions/gohello?code=true", "", 200,
			func(t *testing.T, _ http.Header, body string) {
				var src string
				require.NoError(t, json.Unmarshal([]byte(goSourceJSON), &src))
				assert.Equal(t, src, decode(t, body)["exec"].(map[string]any)["code"])
			}},
		{"wsk: action create gozip action.zip --kind go:1.22", "PUT", "/api/v1/namespaces/_/actions/gozip?overwrite=false",
			`{"namespace":"_","name":"gozip","exec":{"kind":"go:1.22","code":"` + zip + `"}}`, 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, map[string]any{"kind": "go:1.22", "binary": true}, decode(t, body)["exec"])
			}},
		{"wsk: action create gonone x.go (no code)", "PUT", "/api/v1/namespaces/_/actions/gonone?overwrite=false",
			`{"namespace":"_","name":"gonone","exec":{"kind":"go:default","code":""}}`, 400,
			func(t *testing.T, _ http.Header, body string) { assert.Contains(t, body, "exec.code is missing") }},
		{"wsk: action create nat action.zip --native", "PUT", "/api/v1/namespaces/_/actions/nat?overwrite=false",
			`{"namespace":"_","name":"nat","exec":{"kind":"blackbox","code":"` + zip + `","image":"openwhisk/dockerskeleton"}}`, 200,
			isAction("nat", "openwhisk/dockerskeleton", true)},
		{"wsk: delete again", "DELETE", "/api/v1/namespaces/_/actions/myact2", "", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := f.do(t, guestAuth, tt.method, tt.path, tt.body)
			switch {
			case status == http.StatusNotFound:
				assertError(t, tt.status, msgNotFound, status, h, body)
			case status >= 400:
				assertError(t, tt.status, "", status, h, body)
			case status == http.StatusNoContent:
				assert.Equal(t, tt.status, status)
				assert.Empty(t, body)
			default:
				assert.Equal(t, tt.status, status, body)
				assert.Equal(t, "application/json", h.Get("Content-Type"))
				assert.Equal(t, fmt.Sprint(len(body)), h.Get("Content-Length"))
			}
			if tt.check != nil {
				tt.check(t, h, body)
			}
			// A non-blocking activation is stored by the fake's goroutine;
			// wait for it so the list rows below are deterministic.
			f.inv.wg.Wait()
		})
	}
}

// TestWskWebActionRequests replays what wsk sends to make and change a web
// action (action create/update --web true|raw|false, --web-secure, action
// get --url), in order, and between them what curl sends to the URL wsk
// prints: no credentials, the extension choosing the answer's shape.
func TestWskWebActionRequests(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{"greeting":"hi"}`)
	zip := base64.StdEncoding.EncodeToString([]byte("PK\x03\x04\x0a\x00 zip"))
	annotations := func(t *testing.T, body string) map[string]any {
		out := map[string]any{}
		for _, kv := range decode(t, body)["annotations"].([]any) {
			out[kv.(map[string]any)["key"].(string)] = kv.(map[string]any)["value"]
		}
		return out
	}
	const url = "/api/v1/web/guest/default/hello"
	tests := []struct {
		name, auth, method, path, body string
		headers                        []string
		status                         int
		check                          func(t *testing.T, h http.Header, body string)
	}{
		{"wsk action create hello hello.zip --docker epilogue/action-go --web true", guestAuth, "PUT", "/api/v1/namespaces/_/actions/hello?overwrite=false",
			`{"namespace":"_","name":"hello","exec":{"kind":"blackbox","code":"` + zip + `","image":"epilogue/action-go"},"annotations":[{"key":"web-export","value":true},{"key":"raw-http","value":false},{"key":"final","value":true}]}`, nil, 200,
			func(t *testing.T, _ http.Header, body string) {
				a := annotations(t, body)
				assert.Equal(t, true, a["web-export"])
				assert.Equal(t, false, a["raw-http"])
				assert.Equal(t, true, a["final"])
			}},
		{"wsk action get hello --url", guestAuth, "GET", "/api/v1/namespaces/_/actions/hello?code=false", "", nil, 200,
			func(t *testing.T, _ http.Header, body string) {
				// wsk prints https://HOST/api/v1/web/<namespace>/default/hello.
				assert.Equal(t, "guest", decode(t, body)["namespace"])
			}},
		{"curl hello.json?name=x", "", "GET", url + ".json?name=x", "", nil, 200,
			func(t *testing.T, h http.Header, body string) {
				assert.Equal(t, "application/json", h.Get("Content-Type"))
				assert.JSONEq(t, `{"greeting":"hi"}`, body)
				p := f.lastParams(t)
				assert.Equal(t, "x", p["name"])
				assert.Equal(t, "get", p["__ow_method"])
				assert.NotContains(t, p, "__ow_user")
			}},
		{"curl -d JSON hello.json", "", "POST", url + ".json", `{"name":"y"}`, []string{"Content-Type: application/json"}, 200,
			func(t *testing.T, _ http.Header, _ string) { assert.Equal(t, "y", f.lastParams(t)["name"]) }},
		{"curl hello (no extension is .http)", "", "GET", url, "", nil, 204, nil},
		{"wsk action update hello --web raw: get", guestAuth, "GET", "/api/v1/namespaces/_/actions/hello?code=false", "", nil, 200, nil},
		{"wsk action update hello --web raw: put", guestAuth, "PUT", "/api/v1/namespaces/_/actions/hello?overwrite=true",
			`{"namespace":"_","name":"hello","annotations":[{"key":"exec","value":"blackbox"},{"key":"provide-api-key","value":false},{"key":"web-export","value":true},{"key":"raw-http","value":true},{"key":"final","value":true}]}`, nil, 200,
			func(t *testing.T, _ http.Header, body string) {
				assert.Equal(t, true, annotations(t, body)["raw-http"])
			}},
		{"curl raw hello.json?name=x", "", "POST", url + ".json?name=x", "text", []string{"Content-Type: text/plain"}, 200,
			func(t *testing.T, _ http.Header, _ string) {
				p := f.lastParams(t)
				assert.Equal(t, "name=x", p["__ow_query"])
				assert.Equal(t, "text", p["__ow_body"])
				assert.NotContains(t, p, "name")
			}},
		{"wsk action update hello --web true --web-secure 1234567890123: get", guestAuth, "GET", "/api/v1/namespaces/_/actions/hello?code=false", "", nil, 200, nil},
		{"wsk action update hello --web true --web-secure 1234567890123: put", guestAuth, "PUT", "/api/v1/namespaces/_/actions/hello?overwrite=true",
			`{"namespace":"_","name":"hello","annotations":[{"key":"exec","value":"blackbox"},{"key":"provide-api-key","value":false},{"key":"web-export","value":true},{"key":"raw-http","value":false},{"key":"final","value":true},{"key":"require-whisk-auth","value":1234567890123}]}`, nil, 200, nil},
		{"curl secured without the secret", "", "GET", url + ".json", "", nil, 401, nil},
		{"curl secured with the secret", "", "GET", url + ".json", "", []string{"X-Require-Whisk-Auth: 1234567890123"}, 200, nil},
		{"wsk action update hello --web false: put", guestAuth, "PUT", "/api/v1/namespaces/_/actions/hello?overwrite=true",
			`{"namespace":"_","name":"hello","annotations":[{"key":"exec","value":"blackbox"},{"key":"provide-api-key","value":false},{"key":"web-export","value":false},{"key":"raw-http","value":false},{"key":"final","value":false}]}`, nil, 200, nil},
		{"curl a non-web action", "", "GET", url + ".json", "", []string{"X-Require-Whisk-Auth: 1234567890123"}, 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			headers := tt.headers
			if tt.auth != "" {
				headers = append(headers, "Authorization: "+tt.auth)
			}
			status, h, body := f.webDo(t, tt.method, tt.path, tt.body, headers...)
			switch {
			case status == http.StatusNotFound:
				assertError(t, tt.status, msgNotFound, status, h, body)
			case status >= 400:
				assertError(t, tt.status, "", status, h, body)
			default:
				assert.Equal(t, tt.status, status, body)
			}
			if tt.check != nil {
				tt.check(t, h, body)
			}
		})
	}
}
