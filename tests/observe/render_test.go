package observe

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// spans is a trace in Jaeger's JSON, one span per "id:parent:start".
func spans(t testing.TB, defs ...string) Trace {
	t.Helper()
	var tr Trace
	for _, d := range defs {
		f := strings.Split(d, ":")
		require.Len(t, f, 3, d)
		js := `{"spanID":"` + f[0] + `","operationName":"` + f[0] + `","startTime":` + f[2] +
			`,"references":[{"refType":"CHILD_OF","spanID":"` + f[1] + `"}],"processID":"p1"}`
		var s Span
		require.NoError(t, json.Unmarshal([]byte(js), &s))
		tr.Spans = append(tr.Spans, s)
	}
	return tr
}

// TestRender: children under their parent in start order; a span whose
// parent is outside the trace is a root; a reference cycle draws each span
// once.
func TestRender(t *testing.T) {
	tests := []struct {
		name  string
		trace Trace
		want  []string // the names, first word of each line, in order, with their indent
	}{
		{"tree in start order", spans(t, "root:caller:1000", "late:root:3000", "early:root:2000", "leaf:early:2500"),
			[]string{"root", "  early", "    leaf", "  late"}},
		{"orphans are roots", spans(t, "a:gone:2000", "b:gone:1000"), []string{"b", "a"}},
		{"a cycle is not drawn twice", spans(t, "a:b:1000", "b:a:2000", "r:x:0", "a:r:1"), []string{"r", "  a", "    b"}},
		{"empty", Trace{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, line := range strings.Split(strings.TrimSuffix(Render(tc.trace), "\n"), "\n") {
				if line != "" {
					got = append(got, strings.Fields(line)[0])
					got[len(got)-1] = line[:len(line)-len(strings.TrimLeft(line, " "))] + got[len(got)-1]
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// FuzzRender: any answer of the query API decodes and draws without
// panicking or looping, whatever its references.
func FuzzRender(f *testing.F) {
	f.Add(`{"spans":[{"spanID":"a","references":[{"refType":"CHILD_OF","spanID":"a"}]},{"spanID":"a"}]}`)
	f.Add(`{"spans":[{"spanID":"a","startTime":-9223372036854775808,"duration":9223372036854775807,"logs":[{"fields":[{"key":"event","value":3}]}]}],"processes":{}}`)
	f.Fuzz(func(t *testing.T, js string) {
		var tr Trace
		if json.Unmarshal([]byte(js), &tr) != nil {
			return
		}
		_ = Render(tr)
	})
}
