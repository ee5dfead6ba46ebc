package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// TestBindingAcrossNamespaces: another namespace's package can be bound
// only when published; through the binding its actions run with the
// binding's parameters, and nothing can be written into it.
func TestBindingAcrossNamespaces(t *testing.T) {
	f := newFixture(t, Config{}, nil, entity.StatusSuccess, `{}`)
	for _, p := range []entity.Package{
		{Namespace: "other", Name: "pub", Publish: true, Parameters: entity.KeyValues{{Key: "k", Value: []byte(`"pub"`)}}},
		{Namespace: "other", Name: "priv"},
	} {
		_, err := f.st.PutPackage(p, false)
		require.NoError(t, err)
	}
	f.seedAction(t, "other", "pub/echo", imgAction)

	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"bind the published package", "PUT", "/api/v1/namespaces/_/packages/b?overwrite=false", `{"binding":{"namespace":"other","name":"pub"},"parameters":[{"key":"mine","value":1}]}`, 200},
		{"bind the unpublished one", "PUT", "/api/v1/namespaces/_/packages/c?overwrite=false", `{"binding":{"namespace":"other","name":"priv"}}`, 403},
		{"a package cannot become a binding", "PUT", "/api/v1/namespaces/_/packages/plain?overwrite=false", `{}`, 200},
		{"update it into a binding", "PUT", "/api/v1/namespaces/_/packages/plain?overwrite=true", `{"binding":{"namespace":"other","name":"pub"}}`, 409},
		{"invoke through the binding", "POST", "/api/v1/namespaces/_/actions/b/echo?blocking=true", `{"x":2}`, 200},
		{"delete through the binding", "DELETE", "/api/v1/namespaces/_/actions/b/echo", "", 400},
		{"the bound action is still there", "GET", "/api/v1/namespaces/other/actions/pub/echo", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, body := f.do(t, guestAuth, tt.method, tt.path, tt.body)
			if tt.status >= 400 {
				assertError(t, tt.status, "", status, h, body)
				return
			}
			assert.Equal(t, tt.status, status, body)
		})
	}
	_, err := f.st.GetAction("other", "pub/echo")
	require.NoError(t, err, "nothing was deleted through the binding")
	f.inv.mu.Lock()
	defer f.inv.mu.Unlock()
	assert.Equal(t, []string{`{"k":"pub","mine":1,"x":2}`}, f.inv.params)
	assert.Equal(t, []string{"guest/b"}, f.inv.bindings)
	status, _, _ := f.do(t, guestAuth, "GET", "/api/v1/namespaces/_/packages/b", "")
	assert.Equal(t, http.StatusOK, status)
}
