package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// TestStandaloneWskSession replays the README's wsk session (packages, a
// binding, a sequence, a trigger with a rule) with the requests wsk sends,
// against real runtimes on both backends, and checks what the README says
// a user sees.
func TestStandaloneWskSession(t *testing.T) {
	hello := base64.StdEncoding.EncodeToString(actionZip(t, "examples/hello"))
	for _, be := range backends {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, be, standalone.Config{})
			steps := []struct {
				what, method, path, body string
				status                   int
				result                   string // the JSON result, when the step invokes
			}{
				{"wsk package create greetings -p name Ada", "PUT", "/api/v1/namespaces/_/packages/greetings?overwrite=false",
					`{"namespace":"_","name":"greetings","parameters":[{"key":"name","value":"Ada"}]}`, 200, ""},
				{"wsk action create greetings/hello hello.zip --docker epilogue/action-go", "PUT", "/api/v1/namespaces/_/actions/greetings/hello?overwrite=false",
					`{"namespace":"_","name":"greetings/hello","exec":{"kind":"blackbox","image":"epilogue/action-go","code":"` + hello + `","binary":true}}`, 200, ""},
				{"wsk action invoke greetings/hello -r", "POST", "/api/v1/namespaces/_/actions/greetings/hello?blocking=true&result=true",
					`{}`, 200, `{"greeting":"Hello, Ada!"}`},
				{"wsk package bind greetings bob -p name Bob", "PUT", "/api/v1/namespaces/_/packages/bob?overwrite=false",
					`{"namespace":"_","name":"bob","binding":{"namespace":"_","name":"greetings"},"parameters":[{"key":"name","value":"Bob"}]}`, 200, ""},
				{"wsk action invoke bob/hello -r", "POST", "/api/v1/namespaces/_/actions/bob/hello?blocking=true&result=true",
					`{}`, 200, `{"greeting":"Hello, Bob!"}`},
				{"wsk action invoke bob/hello -r -p name Eve", "POST", "/api/v1/namespaces/_/actions/bob/hello?blocking=true&result=true",
					`{"name":"Eve"}`, 200, `{"greeting":"Hello, Eve!"}`},
				{"wsk action create twice --sequence greetings/hello,bob/hello", "PUT", "/api/v1/namespaces/_/actions/twice?overwrite=false",
					`{"namespace":"_","name":"twice","exec":{"kind":"sequence","components":["/_/greetings/hello","/_/bob/hello"]}}`, 200, ""},
				{"wsk action invoke twice -r", "POST", "/api/v1/namespaces/_/actions/twice?blocking=true&result=true",
					`{}`, 200, `{"greeting":"Hello, Bob!"}`},
				{"wsk trigger create signup -p name Zoe", "PUT", "/api/v1/namespaces/_/triggers/signup?overwrite=false",
					`{"namespace":"_","name":"signup","parameters":[{"key":"name","value":"Zoe"}]}`, 200, ""},
				{"wsk rule create welcome signup greetings/hello", "PUT", "/api/v1/namespaces/_/rules/welcome?overwrite=false",
					`{"name":"welcome","status":"","trigger":"/_/signup","action":"/_/greetings/hello"}`, 200, ""},
			}
			for _, st := range steps {
				r := s.wsk(t, st.method, st.path, st.body)
				require.Equal(t, st.status, r.status, "%s: %s", st.what, r.body)
				if st.result != "" {
					assert.JSONEq(t, st.result, r.body, st.what)
				}
			}

			// The sequence's record lists its two components; its completion
			// is known once theirs are.
			list := s.wsk(t, "GET", "/api/v1/namespaces/_/activations?name=twice&limit=1&docs=true", "")
			require.Equal(t, http.StatusOK, list.status, list.body)
			var seqs []entity.Activation
			require.NoError(t, json.Unmarshal([]byte(list.body), &seqs))
			require.Len(t, seqs, 1)
			assert.Len(t, seqs[0].Logs, 2, "the components' activation ids")
			seq := s.finalRecord(t, seqs[0].ActivationID)
			c, _ := seq.Annotations.GetString(entity.AnnotationCompletion)
			assert.Equal(t, string(entity.CompletionDone), c)

			// wsk trigger fire signup: the trigger's activation, and one
			// activation of the rule's action with the trigger's parameters.
			r := s.wsk(t, "POST", "/api/v1/namespaces/_/triggers/signup", `{}`)
			require.Equal(t, http.StatusAccepted, r.status, r.body)
			triggerID := decodeMap(t, r.body)["activationId"].(string)
			trig := s.wsk(t, "GET", "/api/v1/namespaces/_/activations/"+triggerID, "") // written before the fire answers
			require.Equal(t, http.StatusOK, trig.status, trig.body)
			var trigRec entity.Activation
			require.NoError(t, json.Unmarshal([]byte(trig.body), &trigRec))
			require.Len(t, trigRec.Logs, 1, "one rule fired: %v", trigRec.Logs)
			var fired struct {
				ActivationID string `json:"activationId"`
				Success      bool   `json:"success"`
			}
			require.NoError(t, json.Unmarshal([]byte(trigRec.Logs[0]), &fired), trigRec.Logs[0])
			assert.True(t, fired.Success)
			got := s.finalRecord(t, fired.ActivationID)
			assert.JSONEq(t, `{"greeting":"Hello, Zoe!"}`, string(got.Response.Result), "the trigger's parameters reach the action")

			// wsk list shows every kind of entity.
			for path, want := range map[string]int{
				"/api/v1/namespaces/_/packages?limit=30&skip=0": 2,
				"/api/v1/namespaces/_/actions?limit=30&skip=0":  2,
				"/api/v1/namespaces/_/triggers?limit=30&skip=0": 1,
				"/api/v1/namespaces/_/rules?limit=30&skip=0":    1,
			} {
				r := s.wsk(t, "GET", path, "")
				require.Equal(t, http.StatusOK, r.status, r.body)
				var items []json.RawMessage
				require.NoError(t, json.Unmarshal([]byte(r.body), &items))
				assert.Len(t, items, want, "%s: %s", path, r.body)
			}
		})
	}
}
