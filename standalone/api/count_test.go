package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/apache/openwhisk-client-go/whisk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// TestCount: ?count=true on a collection answers {"COLLECTION": N}, the
// entities its list holds less ?skip, as the controller's countEntities;
// limit does not apply.
func TestCount(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	for _, a := range []string{"a", "b"} {
		f.seedAction(t, "guest", a, imgAction)
	}
	for _, p := range [][2]string{{"p", `{}`}, {"bnd", `{"binding":{"namespace":"_","name":"p"}}`}} {
		status, _, body := f.do(t, guestAuth, "PUT", "/api/v1/namespaces/_/packages/"+p[0], p[1])
		require.Equal(t, http.StatusOK, status, body)
	}
	f.seedAction(t, "guest", "p/c", imgAction)
	status, _, body := f.do(t, guestAuth, "PUT", "/api/v1/namespaces/_/triggers/t", `{}`)
	require.Equal(t, http.StatusOK, status, body)
	status, _, body = f.do(t, guestAuth, "PUT", "/api/v1/namespaces/_/rules/r", `{"trigger":"/_/t","action":"/_/a"}`)
	require.Equal(t, http.StatusOK, status, body)
	for i, path := range []string{"guest/a", "guest/a", "guest/b", "guest/p/c"} {
		rec := entity.Activation{Namespace: "guest", Name: path[len(path)-1:], Subject: "guest",
			ActivationID: entity.NewActivationID(), Start: int64(1000 + i), End: int64(1001 + i),
			Response: entity.NewResponse(entity.StatusSuccess, json.RawMessage(`{}`))}
		require.NoError(t, rec.Annotations.SetJSON(entity.AnnotationPath, path))
		require.NoError(t, f.st.PutActivation(rec))
	}

	tests := []struct {
		name, path, want string
	}{
		{"actions, packaged ones included, as the list", "/actions?count=true", `{"actions":3}`},
		{"limit does not apply", "/actions?count=true&limit=1", `{"actions":3}`},
		{"skip does", "/actions?count=true&skip=1", `{"actions":2}`},
		{"skip past the end", "/actions?count=true&skip=9", `{"actions":0}`},
		{"a package's actions", "/actions/p/?count=true", `{"actions":1}`},
		{"a binding's: its package's", "/actions/bnd/?count=true", `{"actions":1}`},
		{"packages and bindings", "/packages?count=true", `{"packages":2}`},
		{"triggers", "/triggers?count=true", `{"triggers":1}`},
		{"rules", "/rules?count=true", `{"rules":1}`},
		{"activations", "/activations?count=true", `{"activations":4}`},
		{"activations of a name", "/activations?count=true&name=a", `{"activations":2}`},
		{"activations in a package", "/activations?count=true&name=p/c", `{"activations":1}`},
		{"activations since", "/activations?count=true&since=1002", `{"activations":2}`},
		{"activations, skip", "/activations?count=true&skip=3", `{"activations":1}`},
		{"count=false lists", "/triggers?count=false", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := f.do(t, guestAuth, "GET", "/api/v1/namespaces/_"+tt.path, "")
			require.Equal(t, http.StatusOK, status, body)
			if tt.want == "" {
				var list []map[string]any
				require.NoError(t, json.Unmarshal([]byte(body), &list), body)
				assert.Len(t, list, 1)
				return
			}
			assert.JSONEq(t, tt.want, body)
		})
	}

	t.Run("client-go's Activations.Count", func(t *testing.T) {
		c := newClient(t, f)
		n, _, err := c.Activations.Count(&whisk.ActivationCountOptions{Name: "a"})
		require.NoError(t, err)
		assert.Equal(t, int64(2), n.Activations)
	})
}

// TestLimits: GET …/limits answers the bounds the server checks an action's
// limits against, with the controller's field names.
func TestLimits(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	status, _, body := f.do(t, guestAuth, "GET", "/api/v1/namespaces/_/limits", "")
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"actionMemoryMax":512,"actionMemoryMin":128,"actionLogsMax":10,"actionLogsMin":0,
		"actionDurationMax":300000,"actionDurationMin":100,"actionConcurrencyMax":1,"actionConcurrencyMin":1}`, body)

	var l namespaceLimits
	require.NoError(t, json.Unmarshal([]byte(body), &l))
	for _, tt := range []struct {
		name   string
		limits string
		status int
	}{
		{"at the maxima", `{"memory":512,"logs":10,"timeout":300000,"concurrency":1}`, http.StatusOK},
		{"at the minima", `{"memory":128,"logs":0,"timeout":100,"concurrency":1}`, http.StatusOK},
		{"memory above", `{"memory":513}`, http.StatusBadRequest},
		{"memory below", `{"memory":127}`, http.StatusBadRequest},
		{"timeout above", `{"timeout":300001}`, http.StatusBadRequest},
		{"logs above", `{"logs":11}`, http.StatusBadRequest},
		{"concurrency above", `{"concurrency":2}`, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := f.do(t, guestAuth, "PUT", "/api/v1/namespaces/_/actions/x?overwrite=true",
				`{"exec":{"kind":"blackbox","image":"i"},"limits":`+tt.limits+`}`)
			assert.Equal(t, tt.status, status, "the answered bounds %+v are the ones checked: %s", l, body)
		})
	}
}
