package backend

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSpecValidate(t *testing.T) {
	ok := Spec{Name: "wsk0_3_guest_hello", Image: "epilogue/action-go"}
	for _, tc := range []struct {
		name    string
		edit    func(*Spec)
		wantErr bool
	}{
		{"ok", func(*Spec) {}, false},
		{"dots and dashes", func(s *Spec) { s.Name = "a.b-c_d" }, false},
		{"env", func(s *Spec) { s.Env = map[string]string{"__OW_API_HOST": "x=y"} }, false},
		{"empty name", func(s *Spec) { s.Name = "" }, true},
		{"leading dash", func(s *Spec) { s.Name = "-a" }, true},
		{"slash", func(s *Spec) { s.Name = "a/b" }, true},
		{"dot dot", func(s *Spec) { s.Name = ".." }, true},
		{"too long", func(s *Spec) { s.Name = strings.Repeat("a", maxNameLen+1) }, true},
		{"no image", func(s *Spec) { s.Image = "" }, true},
		{"negative memory", func(s *Spec) { s.MemoryMB = -1 }, true},
		{"env name with =", func(s *Spec) { s.Env = map[string]string{"A=B": "c"} }, true},
		{"empty env name", func(s *Spec) { s.Env = map[string]string{"": "c"} }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			err := s.Validate()
			if !tc.wantErr {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrInvalidSpec)
		})
	}
}

func TestSpecMemory(t *testing.T) {
	assert.Equal(t, DefaultMemoryMB, Spec{}.Memory())
	assert.Equal(t, 512, Spec{MemoryMB: 512}.Memory())
}
