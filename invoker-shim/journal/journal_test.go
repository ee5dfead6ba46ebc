package journal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReopenKeepsOpenOperations(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir)
	require.NoError(t, err)
	pause, err := j.Defer(Entry{Op: "pause", Container: "c1"})
	require.NoError(t, err)
	rm, err := j.Defer(Entry{Op: "remove", Container: "c2", Query: "force=1"})
	require.NoError(t, err)
	_, err = j.Resolve(pause.ID, Cancelled, "unpaused before the real pause", nil)
	require.NoError(t, err)
	_, err = j.Resolve(pause.ID, Applied, "", nil)
	assert.ErrorIs(t, err, ErrUnknown, "a resolved operation cannot be resolved again")
	require.NoError(t, j.Close())

	j, err = Open(dir)
	require.NoError(t, err)
	defer j.Close()
	open := j.Open()
	require.Len(t, open, 1)
	assert.Equal(t, rm.ID, open[0].ID)
	assert.Equal(t, "remove", open[0].Op)
	assert.Equal(t, "force=1", open[0].Query)
	next, err := j.Defer(Entry{Op: "pause", Container: "c3"})
	require.NoError(t, err)
	assert.Greater(t, next.ID, rm.ID, "ids are never reused")
}

func TestTornLastLine(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir)
	require.NoError(t, err)
	_, err = j.Defer(Entry{Op: "kill", Container: "c1", Query: "signal=KILL"})
	require.NoError(t, err)
	require.NoError(t, j.Close())
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"id":2,"op":"pau`) // the crash came mid-write
	require.NoError(t, err)
	require.NoError(t, f.Close())

	j, err = Open(dir)
	require.NoError(t, err)
	assert.Len(t, j.Open(), 1)
	e, err := j.Defer(Entry{Op: "pause", Container: "c2"})
	require.NoError(t, err)
	require.NoError(t, j.Close())
	j, err = Open(dir)
	require.NoError(t, err)
	defer j.Close()
	assert.Len(t, j.Open(), 2, "the entry after the torn line is intact")
	assert.Equal(t, uint64(2), e.ID)
}

func TestCorruptLineIsAnError(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte("garbage\n{\"id\":1}\n"), 0o600))
	_, err := Open(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "move the file away")
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir)
	require.NoError(t, err)
	keep, err := j.Defer(Entry{Op: "stop", Container: "kept", Query: "t=10"})
	require.NoError(t, err)
	for range compactAfter {
		e, err := j.Defer(Entry{Op: "pause", Container: "c"})
		require.NoError(t, err)
		_, err = j.Resolve(e.ID, Applied, "", nil)
		require.NoError(t, err)
	}
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	assert.Less(t, len(data), 64<<10, "compacted")
	require.NoError(t, j.Close())
	j, err = Open(dir)
	require.NoError(t, err)
	defer j.Close()
	require.Len(t, j.Open(), 1)
	assert.Equal(t, keep.ID, j.Open()[0].ID)
}

// FuzzOpen: whatever the file holds, Open either refuses it with an error
// or yields a journal that keeps working across a reopen.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"id":1,"op":"pause","container":"c","state":"deferred","time":"2026-01-01T00:00:00Z"}` + "\n"))
	f.Add([]byte(`{"id":1,"op":"pause","container":"c","state":"deferred"}` + "\n" + `{"id":1,"op":"pa`))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxLine {
			return
		}
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), data, 0o600))
		j, err := Open(dir)
		if err != nil {
			return
		}
		before := len(j.Open())
		e, err := j.Defer(Entry{Op: "remove", Container: "x"})
		require.NoError(t, err)
		require.NoError(t, j.Close())
		j, err = Open(dir)
		require.NoError(t, err)
		defer j.Close()
		require.Len(t, j.Open(), before+1)
		require.Equal(t, e.ID, j.Open()[len(j.Open())-1].ID)
	})
}
