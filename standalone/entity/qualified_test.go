package entity

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseQualifiedName(t *testing.T) {
	tests := []struct {
		in   string
		want QualifiedName
		err  string
	}{
		{"/guest/a", QualifiedName{Namespace: "guest", Name: "a"}, ""},
		{"/_/pkg/a", QualifiedName{Namespace: "_", Package: "pkg", Name: "a"}, ""},
		{"a", QualifiedName{}, "not a fully qualified action name"},
		{"/guest", QualifiedName{}, "not a fully qualified action name"},
		{"/a/b/c/d", QualifiedName{}, "not a fully qualified action name"},
		{"//a", QualifiedName{}, `name "" is not allowed`},
		{"/guest/a ", QualifiedName{}, "is not allowed"},
		{"", QualifiedName{}, "not a fully qualified action name"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := ParseQualifiedName(tt.in)
			if tt.err != "" {
				require.ErrorIs(t, err, ErrInvalid)
				assert.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, q)
			assert.Equal(t, tt.in, q.String())
		})
	}
}

// The sequence wsk creates: kind sequence, components kept, no image or code.
func TestSequencePut(t *testing.T) {
	a, err := ParseActionPut([]byte(`{"namespace":"_","name":"s","exec":{"kind":"sequence","components":["/_/a","/_/pkg/b"]}}`), "guest", "s")
	require.NoError(t, err)
	raw, err := json.Marshal(a.Exec)
	require.NoError(t, err)
	assert.JSONEq(t, `{"kind":"sequence","binary":false,"components":["/_/a","/_/pkg/b"]}`, string(raw))
	kind, _ := a.Annotations.GetString(AnnotationExec)
	assert.Equal(t, KindSequence, kind)
}

// FuzzParseQualifiedName: a parsed name prints back to its input; an error
// carries the package's prefix.
func FuzzParseQualifiedName(f *testing.F) {
	for _, s := range []string{"/guest/a", "/_/pkg/a", "a", "//", "/a/b/c/d", "/a b/c", "/\x00/a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQualifiedName(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "entity: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		if q.String() != s {
			t.Fatalf("%q parsed to %+v, which prints %q", s, q, q.String())
		}
	})
}
