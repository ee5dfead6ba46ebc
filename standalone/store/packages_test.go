package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func binding(namespace, name, boundNS, bound string) entity.Package {
	return entity.Package{Namespace: namespace, Name: name, Binding: entity.Binding{Namespace: boundNS, Name: bound}}
}

func TestPackages(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"create, get, update bumps the version, list", func(t *testing.T, s *Store) {
			p, err := s.PutPackage(entity.Package{Namespace: "guest", Name: "p", Annotations: entity.KeyValues{}, Parameters: entity.KeyValues{{Key: "a", Value: []byte("1")}}}, false)
			require.NoError(t, err)
			assert.Equal(t, entity.InitialVersion, p.Version)
			got, err := s.GetPackage("guest", "p")
			require.NoError(t, err)
			assert.Equal(t, p, got)
			_, err = s.PutPackage(p, false)
			assert.ErrorIs(t, err, ErrExists)
			p.Version = ""
			again, err := s.PutPackage(p, true)
			require.NoError(t, err)
			assert.Equal(t, "0.0.2", again.Version)
			mkPackage(t, s, "guests", "q")
			list, err := s.ListPackages("guest", 0, 0)
			require.NoError(t, err)
			require.Len(t, list, 1, "a namespace that is a prefix of another is not mixed")
			n, err := s.CountPackages("guest")
			require.NoError(t, err)
			assert.Equal(t, 1, n, "a namespace that is a prefix of another is not counted")
			assert.Equal(t, again.Path(), list[0].Path())
			assert.Equal(t, again.Parameters, list[0].Parameters)
		}},
		{"a binding of a package", func(t *testing.T, s *Store) {
			mkPackage(t, s, "guest", "p")
			b, err := s.PutPackage(binding("guest", "b", "guest", "p"), false)
			require.NoError(t, err)
			assert.True(t, b.IsBinding())
			_, err = s.DeletePackage("guest", "b", false)
			assert.NoError(t, err, "a binding holds no actions")
		}},
		{"a binding of nothing, or of a binding, is refused", func(t *testing.T, s *Store) {
			_, err := s.PutPackage(binding("guest", "b", "guest", "missing"), false)
			assert.ErrorIs(t, err, ErrBadBinding)
			assert.ErrorContains(t, err, "Binding references a package that does not exist.")
			mkPackage(t, s, "guest", "p")
			_, err = s.PutPackage(binding("guest", "b", "guest", "p"), false)
			require.NoError(t, err)
			_, err = s.PutPackage(binding("guest", "bb", "guest", "b"), false)
			assert.ErrorIs(t, err, ErrBadBinding)
			assert.ErrorContains(t, err, "Cannot bind to another package binding.")
		}},
		{"a package cannot become a binding", func(t *testing.T, s *Store) {
			mkPackage(t, s, "guest", "p")
			mkPackage(t, s, "guest", "q")
			_, err := s.PutPackage(binding("guest", "q", "guest", "p"), true)
			assert.ErrorIs(t, err, ErrConflict)
		}},
		{"actions need their package, and a binding takes none", func(t *testing.T, s *Store) {
			_, err := s.PutAction(action("guest", "p/a", "img"), false)
			assert.ErrorIs(t, err, ErrNotFound)
			mkPackage(t, s, "guest", "p")
			_, err = s.PutPackage(binding("guest", "b", "guest", "p"), false)
			require.NoError(t, err)
			_, err = s.PutAction(action("guest", "b/a", "img"), false)
			assert.ErrorIs(t, err, ErrBinding)
			_, err = s.DeleteAction("guest", "b/a")
			assert.ErrorIs(t, err, ErrBinding, "the binding is named before the missing action")
			_, err = s.DeleteAction("guest", "nopkg/a")
			assert.ErrorIs(t, err, ErrNotFound)
			_, err = s.PutAction(action("guest", "p/a", "img"), false)
			assert.NoError(t, err)
		}},
		{"a package with actions is deleted only by force, with them", func(t *testing.T, s *Store) {
			mkPackage(t, s, "guest", "p")
			mkPackage(t, s, "guest", "p2") // a package whose name extends p's keeps its actions
			for _, n := range []string{"p/a", "p/b", "p2/c"} {
				_, err := s.PutAction(action("guest", n, "img"), false)
				require.NoError(t, err)
			}
			_, err := s.DeletePackage("guest", "p", false)
			assert.ErrorIs(t, err, ErrConflict)
			assert.ErrorContains(t, err, "Package not empty (contains 2 entities). Set force param or delete package contents.")
			_, err = s.GetPackage("guest", "p")
			require.NoError(t, err, "a refused delete leaves the package")
			_, err = s.DeletePackage("guest", "p", true)
			require.NoError(t, err)
			left, err := s.ListActions("guest", 0, 0)
			require.NoError(t, err)
			require.Len(t, left, 1)
			assert.Equal(t, "guest/p2/c", left[0].Path())
			_, err = s.DeletePackage("guest", "p", false)
			assert.ErrorIs(t, err, ErrNotFound)
		}},
		{"reserved and invalid names", func(t *testing.T, s *Store) {
			_, err := s.PutPackage(entity.Package{Namespace: "guest", Name: "default"}, false)
			assert.ErrorIs(t, err, entity.ErrInvalid)
			_, err = s.GetPackage("guest", "a/b")
			assert.ErrorIs(t, err, ErrNotFound)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, openTest(t, t.TempDir())) })
	}
}
