package api

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// TestSequenceCreate: the requests `wsk action create s --sequence a,pkg/b`
// sends, and the controller's answers to bad sequences.
func TestSequenceCreate(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "a", imgAction)
	_, err := f.st.PutPackage(entity.Package{Namespace: "guest", Name: "pkg"}, false)
	require.NoError(t, err)
	f.seedAction(t, "guest", "pkg/b", imgAction)
	seq := func(components ...string) string {
		raw, _ := json.Marshal(map[string]any{"namespace": "_", "name": "s", "exec": map[string]any{"kind": "sequence", "components": components}})
		return string(raw)
	}
	tests := []struct {
		name, path, body string
		status           int
		msg              string
	}{
		{"wsk action create s --sequence a,pkg/b", "/api/v1/namespaces/_/actions/s?overwrite=false", seq("/_/a", "/_/pkg/b"), 200, ""},
		{"a missing component", "/api/v1/namespaces/_/actions/s2?overwrite=false", seq("/_/a", "/_/nope"), 400, ""},
		{"itself", "/api/v1/namespaces/_/actions/s?overwrite=true", seq("/_/a", "/guest/s"), 400, entity.MsgSequenceCyclic},
		{"no components", "/api/v1/namespaces/_/actions/s3?overwrite=false", `{"exec":{"kind":"sequence","components":[]}}`, 400, entity.MsgSequenceEmpty},
		{"another namespace", "/api/v1/namespaces/_/actions/s4?overwrite=false", seq("/other/a"), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := f.do(t, guestAuth, "PUT", tt.path, tt.body)
			if tt.status >= 400 {
				assertError(t, tt.status, tt.msg, status, h, body)
				return
			}
			require.Equal(t, tt.status, status, body)
			m := decode(t, body)
			assert.Equal(t, map[string]any{"kind": "sequence", "binary": false, "components": []any{"/guest/a", "/guest/pkg/b"}}, m["exec"], "\"_\" is resolved, as the controller stores it")
			assert.Contains(t, m["annotations"], map[string]any{"key": "exec", "value": "sequence"})
		})
	}
}

// TestSequenceInvoke: each component gets the previous result over its own
// parameters; the record lists the components' activations; an error stops
// the chain.
func TestSequenceInvoke(t *testing.T) {
	for _, tt := range []struct {
		name       string
		status     entity.Status
		wantStatus int
		wantRuns   int
	}{
		{"success runs every component", entity.StatusSuccess, http.StatusOK, 3},
		{"an application error stops the chain", entity.StatusApplicationError, http.StatusBadGateway, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{}, nil, tt.status, `{"r":1}`)
			f.seedAction(t, "guest", "a", `{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"key":"own","value":"a"}]}`)
			f.seedAction(t, "guest", "b", `{"exec":{"kind":"blackbox","image":"i"},"parameters":[{"key":"own","value":"b"},{"key":"r","value":0}]}`)
			status, _, body := f.do(t, guestAuth, "PUT", "/api/v1/namespaces/_/actions/s?overwrite=false",
				`{"exec":{"kind":"sequence","components":["/_/a","/_/b","/_/a"]},"parameters":[{"key":"seq","value":true}]}`)
			require.Equal(t, http.StatusOK, status, body)

			status, h, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/s?blocking=true&result=false", `{"in":1}`)
			require.Equal(t, tt.wantStatus, status, body)
			rec := decode(t, body)
			assert.Equal(t, h.Get(HeaderActivationID), rec["activationId"])
			assert.Equal(t, "s", rec["name"])
			assert.Equal(t, map[string]any{"status": string(tt.status), "success": tt.status == entity.StatusSuccess, "result": map[string]any{"r": 1.0}}, rec["response"])
			logs := rec["logs"].([]any)
			assert.Len(t, logs, tt.wantRuns, "logs are the components' activation ids")
			for _, id := range logs {
				_, err := f.st.GetActivation("guest", id.(string))
				assert.NoError(t, err, "component %s is recorded", id)
			}
			for _, want := range []map[string]any{{"key": "topmost", "value": true}, {"key": "kind", "value": "sequence"}, {"key": "path", "value": "guest/s"}} {
				assert.Contains(t, rec["annotations"], want)
			}
			stored, err := f.st.GetActivation("guest", rec["activationId"].(string))
			require.NoError(t, err)
			assert.Len(t, stored.Logs, tt.wantRuns)

			f.inv.mu.Lock()
			defer f.inv.mu.Unlock()
			want := []string{`{"in":1,"own":"a","seq":true}`, `{"own":"b","r":1}`, `{"own":"a","r":1}`}
			assert.Equal(t, len(want[:tt.wantRuns]), len(f.inv.params))
			for _, c := range f.inv.causes {
				assert.Equal(t, rec["activationId"], c, "each component names the sequence's activation")
			}
			for i := range f.inv.params {
				assert.JSONEq(t, want[i], f.inv.params[i], "component %d: the previous result over its own parameters", i+1)
			}
		})
	}
}

// TestSequenceNonBlocking: 202 with the sequence's id at once; the record
// appears once the components have run.
func TestSequenceNonBlocking(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, Config{}, release, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "a", imgAction)
	status, _, body := f.do(t, guestAuth, "PUT", "/api/v1/namespaces/_/actions/s?overwrite=false", `{"exec":{"kind":"sequence","components":["/_/a","/_/a"]}}`)
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/s?blocking=false", `{}`)
	require.Equal(t, http.StatusAccepted, status, body)
	id := decode(t, body)["activationId"].(string)
	_, err := f.st.GetActivation("guest", id)
	assert.ErrorIs(t, err, store.ErrNotFound, "no record while the first component has not answered")
	close(release)
	require.Eventually(t, func() bool {
		rec, err := f.st.GetActivation("guest", id)
		return err == nil && len(rec.Logs) == 2
	}, time.Minute, 10*time.Millisecond)
}

// TestSequenceCycle: a cycle that updates made (s1 → s2 → s1) ends after
// MaxSequenceLength components with the controller's message.
func TestSequenceCycle(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	f.seedAction(t, "guest", "a", imgAction)
	for _, put := range []struct{ path, body string }{
		{"s1?overwrite=false", `{"exec":{"kind":"sequence","components":["/_/a"]}}`},
		{"s2?overwrite=false", `{"exec":{"kind":"sequence","components":["/_/s1"]}}`},
		{"s1?overwrite=true", `{"exec":{"kind":"sequence","components":["/_/a","/_/s2"]}}`},
	} {
		status, _, body := f.do(t, guestAuth, "PUT", "/api/v1/namespaces/_/actions/"+put.path, put.body)
		require.Equal(t, http.StatusOK, status, body)
	}
	status, _, body := f.do(t, guestAuth, "POST", "/api/v1/namespaces/_/actions/s1?blocking=true&result=false", `{}`)
	assert.Equal(t, http.StatusBadGateway, status)
	top := decode(t, body)
	assert.Equal(t, map[string]any{"error": entity.MsgSequenceTooLong}, top["response"].(map[string]any)["result"])
	assert.Contains(t, top["annotations"], map[string]any{"key": "topmost", "value": true})
	logs := top["logs"].([]any)
	require.Len(t, logs, 2, "a, then s2")
	nested, err := f.st.GetActivation("guest", logs[1].(string))
	require.NoError(t, err)
	assert.Equal(t, "s2", nested.Name)
	assert.Equal(t, top["activationId"], nested.Cause, "a nested sequence names its parent")
	_, topmost := nested.Annotations.Get("topmost")
	assert.False(t, topmost, "only the top-level sequence is topmost")
	f.inv.mu.Lock()
	defer f.inv.mu.Unlock()
	assert.Less(t, len(f.inv.params), entity.MaxSequenceLength, "the budget counts the nested sequences too")
	assert.NotEmpty(t, f.inv.params)
}
