package actionloop

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPostResponseActivation(t *testing.T) {
	tests := []struct {
		name, line, id, rest string
		ok                   bool
	}{
		{"tagged", "[activation 0af3] wrote 3 rows", "0af3", "wrote 3 rows", true},
		{"tagged, empty rest", "[activation x] ", "x", "", true},
		{"untagged", "wrote 3 rows", "", "wrote 3 rows", false},
		{"empty id", "[activation ] x", "", "[activation ] x", false},
		{"no space after ]", "[activation x]y", "", "[activation x]y", false},
		{"unterminated", "[activation x", "", "[activation x", false},
		{"space in id", "[activation a b] x", "", "[activation a b] x", false},
		{"nested bracket", "[activation [x] y", "", "[activation [x] y", false},
		{"prefix only", "[activation", "", "[activation", false},
		{"the sentinel", Sentinel, "", Sentinel, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, rest, ok := PostResponseActivation(tt.line)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.id, id)
			assert.Equal(t, tt.rest, rest)
		})
	}
}

// FuzzPostResponseActivation: log lines come from actions, so any bytes;
// parsing never panics, a tagged line's id is a well-formed id, and tagging
// a line with a well-formed id round-trips.
func FuzzPostResponseActivation(f *testing.F) {
	f.Add("[activation 0af3] wrote", "0af3")
	f.Add("[activation ] x", "")
	f.Add("[activation a]b", "a b")
	f.Fuzz(func(t *testing.T, line, id string) {
		got, rest, ok := PostResponseActivation(line)
		if ok {
			require.NotEmpty(t, got)
			require.NotContains(t, got, " ")
			require.Equal(t, line, PostResponsePrefix(got)+rest)
		} else {
			require.Equal(t, line, rest)
		}
		if id == "" || strings.ContainsAny(id, " []") {
			return
		}
		got, rest, ok = PostResponseActivation(PostResponsePrefix(id) + line)
		require.True(t, ok)
		require.Equal(t, id, got)
		require.Equal(t, line, rest)
	})
}
