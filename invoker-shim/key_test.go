package invokershim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadKey: a key the operator gave is read and never written; one the
// shim owns is created once and kept.
func TestLoadKey(t *testing.T) {
	long := strings.Repeat("k", MinNotifyKey)
	tests := []struct {
		name        string
		journal     string  // notify.key in the journal directory; "" = none
		file        *string // the content of a --notify-key file; nil = none
		missingFile bool    // --notify-key names a file that does not exist
		want        string  // the key, or <new>
		wantErr     string
		keepFile    bool // the given file is unchanged
	}{
		{name: "created in the journal", want: "<new>"},
		{name: "kept in the journal", journal: long, want: long},
		{name: "a short journal key is refused", journal: "short", wantErr: "holds 5 bytes; it needs at least 32"},
		{name: "from a file", file: &long, journal: strings.Repeat("j", MinNotifyKey), want: long, keepFile: true},
		{name: "a short file is refused, not replaced", file: ptr("tiny"), wantErr: "holds 4 bytes; it needs at least 32", keepFile: true},
		{name: "a missing file is an error, not created", missingFile: true, wantErr: "read the notify key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.journal != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, keyFile), []byte(tt.journal), 0o600))
			}
			file := ""
			if tt.file != nil || tt.missingFile {
				file = filepath.Join(t.TempDir(), "secret", "notify.key")
			}
			if tt.file != nil {
				require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o700))
				require.NoError(t, os.WriteFile(file, []byte(*tt.file), 0o400))
			}
			key, err := loadKey(dir, file)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				if file == "" {
					return
				}
				if tt.missingFile {
					_, statErr := os.Stat(file)
					assert.ErrorIs(t, statErr, os.ErrNotExist, "a missing key file was created")
				}
			} else {
				require.NoError(t, err)
				if tt.want == "<new>" {
					assert.Len(t, key, MinNotifyKey)
					again, err := loadKey(dir, "")
					require.NoError(t, err)
					assert.Equal(t, key, again, "the created key was not kept")
				} else {
					assert.Equal(t, tt.want, string(key))
				}
			}
			if tt.keepFile {
				b, err := os.ReadFile(file)
				require.NoError(t, err)
				assert.Equal(t, *tt.file, string(b), "the given key file was rewritten")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
