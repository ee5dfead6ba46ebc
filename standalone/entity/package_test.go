package entity

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPackagePut(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    string // the created package's JSON, or "" for an error
		wantErr string
	}{
		{"wsk package create", `{"namespace":"_","name":"p"}`,
			`{"namespace":"guest","name":"p","publish":false,"annotations":[],"parameters":[],"binding":{},"updated":0}`, ""},
		{"empty body", ``,
			`{"namespace":"guest","name":"p","publish":false,"annotations":[],"parameters":[],"binding":{},"updated":0}`, ""},
		{"parameters, annotations, version, publish", `{"parameters":[{"key":"k","value":"v"}],"annotations":[{"key":"a","value":1}],"version":"1.2.3","publish":true}`,
			`{"namespace":"guest","name":"p","version":"1.2.3","publish":true,"annotations":[{"key":"a","value":1}],"parameters":[{"key":"k","value":"v"}],"binding":{},"updated":0}`, ""},
		{"binding: the controller sets the binding annotation, a sent one is dropped", `{"binding":{"namespace":"guest","name":"q"},"annotations":[{"key":"binding","value":"forged"}]}`,
			`{"namespace":"guest","name":"p","publish":false,"annotations":[{"key":"binding","value":{"namespace":"guest","name":"q"}}],"parameters":[],"binding":{"namespace":"guest","name":"q"},"updated":0}`, ""},
		{"an empty binding is none", `{"binding":{}}`,
			`{"namespace":"guest","name":"p","publish":false,"annotations":[],"parameters":[],"binding":{},"updated":0}`, ""},
		{"malformed", `{"binding":`, "", "not a valid package document"},
		{"parameters not an array", `{"parameters":{"k":"v"}}`, "", "parameters"},
		{"binding without a name", `{"binding":{"namespace":"guest"}}`, "", "binding"},
		{"bad version", `{"version":"1"}`, "", "major.minor.patch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			put, err := DecodePackagePut([]byte(tt.body))
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrInvalid)
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			p, err := put.Create("guest", "p")
			require.NoError(t, err)
			got, err := json.Marshal(p)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
	t.Run("reserved name", func(t *testing.T) {
		_, err := PackagePut{}.Create("guest", ReservedPackageName)
		assert.ErrorIs(t, err, ErrInvalid)
		assert.ErrorContains(t, err, "Package name 'default' is reserved.")
	})
	t.Run("update keeps absent fields and the binding", func(t *testing.T) {
		old, err := PackagePut{Binding: &Binding{Namespace: "guest", Name: "q"}, Parameters: &KeyValues{{Key: "a", Value: []byte("1")}}}.Create("guest", "b")
		require.NoError(t, err)
		old.Version = "0.0.3"
		put, err := DecodePackagePut([]byte(`{"annotations":[{"key":"x","value":true}]}`))
		require.NoError(t, err)
		p := put.Update(old)
		assert.Empty(t, p.Version, "the store bumps it")
		assert.Equal(t, old.Parameters, p.Parameters)
		assert.Equal(t, old.Binding, p.Binding)
		assert.Equal(t, KeyValues{{Key: "x", Value: []byte("true")}, {Key: "binding", Value: []byte(`{"namespace":"guest","name":"q"}`)}}, p.Annotations)
	})
}

func TestPackageViews(t *testing.T) {
	p := Package{Namespace: "guest", Name: "p", Version: "0.0.1"}
	s, err := json.Marshal(p.Summary())
	require.NoError(t, err)
	assert.JSONEq(t, `{"namespace":"guest","name":"p","version":"0.0.1","publish":false,"annotations":[],"binding":false,"updated":0}`, string(s))
	b := Package{Namespace: "guest", Name: "b", Binding: Binding{Namespace: "guest", Name: "p"}}
	s, err = json.Marshal(b.Summary())
	require.NoError(t, err)
	assert.Contains(t, string(s), `"binding":{"namespace":"guest","name":"p"}`)

	feed := Action{Name: "changes", Version: "0.0.1", Annotations: KeyValues{{Key: "feed", Value: []byte("true")}}}
	w := p.WithActions([]Action{{Name: "a", Version: "0.0.2"}, feed})
	assert.Equal(t, []PackageAction{{Name: "a", Version: "0.0.2"}}, w.Actions)
	assert.Equal(t, []PackageAction{{Name: "changes", Version: "0.0.1", Annotations: feed.Annotations}}, w.Feeds)

	merged := MergeParameters(KeyValues{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("1")}},
		KeyValues{{Key: "b", Value: []byte("2")}, {Key: "c", Value: []byte("2")}}, KeyValues{{Key: "c", Value: []byte("3")}})
	assert.Equal(t, KeyValues{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}, {Key: "c", Value: []byte("3")}}, merged)
}

// FuzzDecodePackagePut: any body either fails with an entity error or gives
// a package that survives an encode and decode unchanged.
func FuzzDecodePackagePut(f *testing.F) {
	for _, s := range []string{
		`{"namespace":"_","name":"p"}`,
		`{"namespace":"_","name":"tools","annotations":[{"key":"description","value":"shared tools"}],"parameters":[{"key":"k","value":"pkg"}]}`,
		`{"parameters":[{"key":"p","value":2}],"binding":{"namespace":"_","name":"tools"}}`,
		`{"binding":{},"version":"0.0.9","publish":true}`,
		`{"binding":{"namespace":"a b","name":"$"}}`,
		`{"annotations":[{"key":"binding","value":1},{"key":"k"}]}`,
		`null`, `[]`, `{}`, ``,
	} {
		f.Add([]byte(s), "guest", "p")
	}
	f.Fuzz(func(t *testing.T, body []byte, namespace, name string) {
		put, err := DecodePackagePut(body)
		if err == nil {
			var p Package
			if p, err = put.Create(namespace, name); err == nil {
				b, err := json.Marshal(p)
				if err != nil {
					t.Fatalf("marshal %+v: %v", p, err)
				}
				again, err := DecodePackagePut(b)
				if err != nil {
					t.Fatalf("re-decode of %s: %v", b, err)
				}
				q, err := again.Create(namespace, name)
				if err != nil {
					t.Fatalf("re-create from %s: %v", b, err)
				}
				assert.Equal(t, p, q)
				return
			}
		}
		if !strings.HasPrefix(err.Error(), "entity: ") {
			t.Fatalf("error without the package prefix: %v", err)
		}
	})
}
