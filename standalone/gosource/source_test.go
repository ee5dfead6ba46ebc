package gosource

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestMainFunc: exec.main names the function as OpenWhisk's Go runtime
// reads it (Python's str.capitalize of the name).
func TestMainFunc(t *testing.T) {
	tests := []struct {
		main, want string
		ok         bool
	}{
		{"", "Main", true},
		{"main", "Main", true},
		{"Main", "Main", true},
		{"hello", "Hello", true},
		{"helloWorld", "Helloworld", true},
		{"_x", "_x", true},
		{"a.b", "", false},
		{"9lives", "", false},
		{"Main(nil)", "", false},
	}
	for _, tt := range tests {
		got, ok := mainFunc(tt.main)
		assert.Equal(t, tt.ok, ok, tt.main)
		assert.Equal(t, tt.want, got, tt.main)
	}
}
