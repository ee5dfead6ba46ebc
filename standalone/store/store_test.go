package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// clock is an injected clock that advances 1 ms per reading, so that every
// write gets a distinct Updated.
type clock struct{ ms atomic.Int64 }

func newClock(start int64) *clock {
	c := &clock{}
	c.ms.Store(start)
	return c
}

func (c *clock) Now() time.Time { return time.UnixMilli(c.ms.Add(1)) }

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenOptions(dir, Options{Now: newClock(1_700_000_000_000).Now, OpenTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func action(namespace, name, image string) entity.Action {
	a, err := entity.ParseActionPut([]byte(`{"exec":{"kind":"blackbox","image":"`+image+`","code":"UEsDBAo="}}`), namespace, name)
	if err != nil {
		panic(err)
	}
	return a
}

// mkPackage creates the package namespace/name, which actions in it need.
func mkPackage(t *testing.T, s *Store, namespace, name string) {
	t.Helper()
	_, err := s.PutPackage(entity.Package{Namespace: namespace, Name: name}, false)
	require.NoError(t, err)
}

func TestOpen(t *testing.T) {
	t.Run("creates the directory and a 0600 file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "nested")
		s, err := Open(dir)
		require.NoError(t, err)
		defer s.Close()
		assert.Equal(t, filepath.Join(dir, FileName), s.Path())
		fi, err := os.Stat(s.Path())
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	})
	t.Run("no directory", func(t *testing.T) {
		_, err := Open("")
		assert.ErrorContains(t, err, "pass --data DIR")
	})
	t.Run("not a database", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte("this is not a bbolt file, it is long enough to have a header page or so........"), 0o600))
		_, err := Open(dir)
		require.Error(t, err)
		assert.ErrorContains(t, err, "store: open "+filepath.Join(dir, FileName))
		assert.ErrorContains(t, err, "use another --data directory")
	})
	t.Run("a layout this build does not know", func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(dir)
		require.NoError(t, err)
		require.NoError(t, s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte("99")) }))
		require.NoError(t, s.Close())
		_, err = Open(dir)
		assert.ErrorContains(t, err, `layout version "99", this build reads "1"`)
	})
}

// A second process (here: a second open file description) gets a clear
// error within its timeout instead of hanging.
func TestOpenLockedFailsFast(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir)

	begin := time.Now()
	_, err := OpenOptions(dir, Options{OpenTimeout: 100 * time.Millisecond})
	elapsed := time.Since(begin)

	require.ErrorIs(t, err, ErrLocked)
	assert.ErrorContains(t, err, filepath.Join(dir, FileName))
	assert.ErrorContains(t, err, "another `epilogue standalone --data "+dir+"` running")
	// The option's 100 ms, not the default: the only bound a busy machine
	// cannot blur is the default's, 50 times longer.
	assert.Less(t, elapsed, DefaultOpenTimeout)
	assert.Equal(t, 5*time.Second, DefaultOpenTimeout)
}

func TestClosedStore(t *testing.T) {
	s, err := Open(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = s.GetAction("guest", "a")
	assert.ErrorContains(t, err, "is closed")
	assert.ErrorContains(t, s.PutActivation(entity.Activation{Namespace: "guest", ActivationID: entity.NewActivationID()}), "is closed")
}

func TestActionCRUD(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store)
	}{
		{"create sets version 0.0.1 and updated", func(t *testing.T, s *Store) {
			got, err := s.PutAction(action("guest", "hello", "img"), false)
			require.NoError(t, err)
			assert.Equal(t, entity.InitialVersion, got.Version)
			assert.Equal(t, int64(1_700_000_000_001), got.Updated)
			stored, err := s.GetAction("guest", "hello")
			require.NoError(t, err)
			assert.Equal(t, got, stored)
			assert.Equal(t, "UEsDBAo=", stored.Exec.Code, "GetAction keeps the code")
		}},
		{"create over an existing action fails with ErrExists", func(t *testing.T, s *Store) {
			_, err := s.PutAction(action("guest", "hello", "img:1"), false)
			require.NoError(t, err)
			_, err = s.PutAction(action("guest", "hello", "img:2"), false)
			require.ErrorIs(t, err, ErrExists)
			assert.ErrorContains(t, err, "store: already exists: action /guest/hello; update it with `wsk action update`")
			stored, err := s.GetAction("guest", "hello")
			require.NoError(t, err)
			assert.Equal(t, "img:1", stored.Exec.Image, "unchanged")
		}},
		{"overwrite replaces and bumps the patch", func(t *testing.T, s *Store) {
			first, err := s.PutAction(action("guest", "hello", "img:1"), false)
			require.NoError(t, err)
			second, err := s.PutAction(action("guest", "hello", "img:2"), true)
			require.NoError(t, err)
			third, err := s.PutAction(action("guest", "hello", "img:3"), true)
			require.NoError(t, err)
			assert.Equal(t, []string{"0.0.1", "0.0.2", "0.0.3"}, []string{first.Version, second.Version, third.Version})
			assert.Greater(t, third.Updated, second.Updated)
			stored, err := s.GetAction("guest", "hello")
			require.NoError(t, err)
			assert.Equal(t, third, stored)
		}},
		{"overwrite of a missing action creates it", func(t *testing.T, s *Store) {
			got, err := s.PutAction(action("guest", "hello", "img"), true)
			require.NoError(t, err)
			assert.Equal(t, entity.InitialVersion, got.Version)
		}},
		{"a version in the document is kept", func(t *testing.T, s *Store) {
			a := action("guest", "hello", "img")
			a.Version = "2.0.0"
			got, err := s.PutAction(a, false)
			require.NoError(t, err)
			assert.Equal(t, "2.0.0", got.Version)
			a.Version = ""
			got, err = s.PutAction(a, true)
			require.NoError(t, err)
			assert.Equal(t, "2.0.1", got.Version)
		}},
		{"update through entity.ActionPut keeps what the body leaves out", func(t *testing.T, s *Store) {
			a, err := entity.ParseActionPut([]byte(`{"exec":{"kind":"blackbox","image":"img:1"},"parameters":[{"key":"p","value":1}],"limits":{"memory":128}}`), "guest", "hello")
			require.NoError(t, err)
			_, err = s.PutAction(a, false)
			require.NoError(t, err)
			put, err := entity.DecodeActionPut([]byte(`{"namespace":"_","name":"hello","exec":{"kind":"blackbox","image":"img:2"}}`))
			require.NoError(t, err)
			old, err := s.GetAction("guest", "hello")
			require.NoError(t, err)
			merged, err := put.Update(old)
			require.NoError(t, err)
			got, err := s.PutAction(merged, true)
			require.NoError(t, err)
			assert.Equal(t, "0.0.2", got.Version)
			assert.Equal(t, "img:2", got.Exec.Image)
			assert.Equal(t, 128, got.Limits.Memory)
			assert.Equal(t, a.Parameters, got.Parameters)
		}},
		{"names with a package, either way round", func(t *testing.T, s *Store) {
			mkPackage(t, s, "guest", "pkg")
			got, err := s.PutAction(action("guest", "pkg/act", "img"), false)
			require.NoError(t, err)
			assert.Equal(t, "guest/pkg", got.Namespace)
			assert.Equal(t, "act", got.Name)
			for _, q := range [][2]string{{"guest", "pkg/act"}, {"guest/pkg", "act"}} {
				stored, err := s.GetAction(q[0], q[1])
				require.NoError(t, err, q)
				assert.Equal(t, got, stored)
			}
			_, err = s.GetAction("guest", "act")
			assert.ErrorIs(t, err, ErrNotFound, "the package is part of the name")
			deleted, err := s.DeleteAction("guest", "pkg/act")
			require.NoError(t, err)
			assert.Equal(t, got, deleted)
		}},
		{"delete returns the action; then it is gone", func(t *testing.T, s *Store) {
			put, err := s.PutAction(action("guest", "hello", "img"), false)
			require.NoError(t, err)
			got, err := s.DeleteAction("guest", "hello")
			require.NoError(t, err)
			assert.Equal(t, put, got)
			_, err = s.GetAction("guest", "hello")
			require.ErrorIs(t, err, ErrNotFound)
			assert.ErrorContains(t, err, "store: not found: action /guest/hello; check the name with `wsk action list`")
			_, err = s.DeleteAction("guest", "hello")
			assert.ErrorIs(t, err, ErrNotFound)
		}},
		{"namespaces are separate", func(t *testing.T, s *Store) {
			_, err := s.PutAction(action("guest", "hello", "img"), false)
			require.NoError(t, err)
			_, err = s.GetAction("other", "hello")
			assert.ErrorIs(t, err, ErrNotFound)
			_, err = s.PutAction(action("other", "hello", "img"), false)
			assert.NoError(t, err)
		}},
		{"invalid names", func(t *testing.T, s *Store) {
			_, err := s.PutAction(entity.Action{Namespace: "guest", Name: "a/b/c"}, false)
			assert.ErrorIs(t, err, entity.ErrInvalid)
			_, err = s.PutAction(entity.Action{Namespace: "", Name: "a"}, false)
			assert.ErrorIs(t, err, entity.ErrInvalid)
			_, err = s.GetAction("guest", "$bad")
			assert.ErrorIs(t, err, ErrNotFound)
			_, err = s.DeleteAction("guest", "")
			assert.ErrorIs(t, err, ErrNotFound)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, openTest(t, t.TempDir()))
		})
	}
}

func TestListActions(t *testing.T) {
	s := openTest(t, t.TempDir())
	mkPackage(t, s, "guest", "pkg")
	// Written in this order, so updated ascends: a, b, pkg/c, d (other), then a again.
	for _, a := range []entity.Action{
		action("guest", "a", "img"), action("guest", "b", "img"), action("guest", "pkg/c", "img"),
		action("guests", "d", "img"), action("other", "e", "img"),
	} {
		_, err := s.PutAction(a, false)
		require.NoError(t, err)
	}
	_, err := s.PutAction(action("guest", "a", "img:2"), true)
	require.NoError(t, err)

	tests := []struct {
		name      string
		namespace string
		limit     int
		skip      int
		want      []string
	}{
		{"most recently updated first, packaged actions included", "guest", 0, 0, []string{"guest/a", "guest/pkg/c", "guest/b"}},
		{"one package", "guest/pkg", 0, 0, []string{"guest/pkg/c"}},
		{"limit", "guest", 2, 0, []string{"guest/a", "guest/pkg/c"}},
		{"skip", "guest", 0, 1, []string{"guest/pkg/c", "guest/b"}},
		{"limit and skip", "guest", 1, 1, []string{"guest/pkg/c"}},
		{"skip past the end", "guest", 0, 5, []string{}},
		{"negative skip is 0", "guest", 1, -3, []string{"guest/a"}},
		{"a namespace that is a prefix of another is not mixed", "guests", 0, 0, []string{"guests/d"}},
		{"empty namespace", "nobody", 0, 0, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.ListActions(tt.namespace, tt.limit, tt.skip)
			require.NoError(t, err)
			got := []string{}
			for _, a := range list {
				got = append(got, a.Path())
				assert.Empty(t, a.Exec.Code, "lists carry no code")
				assert.True(t, a.Exec.Binary)
				assert.NotEmpty(t, a.Version)
			}
			assert.Equal(t, tt.want, got)

			all, err := s.ListActions(tt.namespace, MaxListLimit, 0)
			require.NoError(t, err)
			n, err := s.CountActions(tt.namespace)
			require.NoError(t, err)
			assert.Equal(t, len(all), n, "count: every action the list holds, limit and skip aside")
		})
	}
}

func TestListBounds(t *testing.T) {
	tests := []struct{ limit, skip, wantLimit, wantSkip int }{
		{0, 0, 30, 0}, {-1, -1, 30, 0}, {1, 2, 1, 2}, {200, 0, 200, 0}, {201, 0, 200, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.limit, tt.skip), func(t *testing.T) {
			l, s := listBounds(tt.limit, tt.skip)
			assert.Equal(t, tt.wantLimit, l)
			assert.Equal(t, tt.wantSkip, s)
		})
	}
}

func activation(namespace, path string, start int64) entity.Activation {
	name := path[strings.LastIndexByte(path, '/')+1:]
	a := entity.Activation{
		Namespace: namespace, Name: name, Version: "0.0.1", Subject: namespace,
		ActivationID: entity.NewActivationID(), Start: start, End: start + 10, Duration: 10,
		Response: entity.NewResponse(entity.StatusSuccess, json.RawMessage(`{"ok":true}`)),
		Logs:     []string{"line"},
	}
	_ = a.Annotations.SetJSON(entity.AnnotationPath, path)
	return a
}

func TestActivationPutGet(t *testing.T) {
	s := openTest(t, t.TempDir())
	a := activation("guest", "guest/hello", 1000)
	a.End, a.Duration = 0, 0
	require.NoError(t, s.PutActivation(a))
	got, err := s.GetActivation("guest", a.ActivationID)
	require.NoError(t, err)
	assert.Equal(t, a, got)

	t.Run("replace: the completed record, with a new start, is the only one", func(t *testing.T) {
		a.Start, a.End, a.Duration = 900, 1050, 150
		require.NoError(t, a.Annotations.SetJSON(entity.AnnotationCompletion, entity.CompletionDone))
		require.NoError(t, a.Annotations.SetJSON(entity.AnnotationPostResponseDuration, 40))
		require.NoError(t, s.PutActivation(a))
		got, err := s.GetActivation("guest", a.ActivationID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		all, err := s.ListActivations("guest", ActivationFilter{})
		require.NoError(t, err)
		assert.Equal(t, []entity.Activation{a}, all)
		byName, err := s.ListActivations("guest", ActivationFilter{Name: "hello"})
		require.NoError(t, err)
		assert.Equal(t, []entity.Activation{a}, byName)
	})
	t.Run("replace with another name moves the name index", func(t *testing.T) {
		b := a
		b.Annotations = nil
		require.NoError(t, b.Annotations.SetJSON(entity.AnnotationPath, "guest/pkg/hello"))
		require.NoError(t, s.PutActivation(b))
		old, err := s.ListActivations("guest", ActivationFilter{Name: "hello"})
		require.NoError(t, err)
		assert.Empty(t, old)
		moved, err := s.ListActivations("guest", ActivationFilter{Name: "pkg/hello"})
		require.NoError(t, err)
		assert.Len(t, moved, 1)
	})
	t.Run("not found", func(t *testing.T) {
		_, err := s.GetActivation("guest", "0123456789abcdef0123456789abcdef")
		require.ErrorIs(t, err, ErrNotFound)
		assert.ErrorContains(t, err, "store: not found: activation 0123456789abcdef0123456789abcdef in namespace guest")
		_, err = s.GetActivation("other", a.ActivationID)
		assert.ErrorIs(t, err, ErrNotFound, "ids are per namespace")
	})
	t.Run("rejected records", func(t *testing.T) {
		for name, bad := range map[string]entity.Activation{
			"no namespace":   {ActivationID: "x"},
			"no id":          {Namespace: "guest"},
			"negative start": {Namespace: "guest", ActivationID: "x", Start: -1},
		} {
			assert.Error(t, s.PutActivation(bad), name)
		}
	})
}

func TestListActivations(t *testing.T) {
	s := openTest(t, t.TempDir())
	// Starts 1000, 1010, … 1190: a, b and pkg/a in turn.
	paths := []string{"guest/a", "guest/b", "guest/pkg/a"}
	byStart := map[int64]entity.Activation{}
	for i := range 20 {
		a := activation("guest", paths[i%3], int64(1000+10*i))
		require.NoError(t, s.PutActivation(a))
		byStart[a.Start] = a
	}
	require.NoError(t, s.PutActivation(activation("other", "other/a", 1500)))
	require.NoError(t, s.PutActivation(activation("guests", "guests/a", 1500)))

	starts := func(from, to int64, step int64, keep func(int64) bool) []int64 {
		out := []int64{}
		for v := from; v >= to; v -= step {
			if keep == nil || keep(v) {
				out = append(out, v)
			}
		}
		return out
	}
	nameIs := func(p string) func(int64) bool {
		return func(v int64) bool { return paths[(v-1000)/10%3] == p }
	}
	tests := []struct {
		name   string
		filter ActivationFilter
		want   []int64
	}{
		{"all, newest first", ActivationFilter{}, starts(1190, 1000, 10, nil)},
		{"name", ActivationFilter{Name: "a"}, starts(1190, 1000, 10, nameIs("guest/a"))},
		{"name in a package", ActivationFilter{Name: "pkg/a"}, starts(1190, 1000, 10, nameIs("guest/pkg/a"))},
		{"unknown name", ActivationFilter{Name: "zzz"}, []int64{}},
		{"since is inclusive", ActivationFilter{Since: 1150}, starts(1190, 1150, 10, nil)},
		{"upto is inclusive", ActivationFilter{Upto: 1030}, starts(1030, 1000, 10, nil)},
		{"upto between records", ActivationFilter{Upto: 1035}, starts(1030, 1000, 10, nil)},
		{"since and upto", ActivationFilter{Since: 1050, Upto: 1080}, starts(1080, 1050, 10, nil)},
		{"since after upto", ActivationFilter{Since: 1080, Upto: 1050}, []int64{}},
		{"name, since and upto", ActivationFilter{Name: "b", Since: 1000, Upto: 1100}, starts(1100, 1000, 10, nameIs("guest/b"))},
		{"limit", ActivationFilter{Limit: 3}, starts(1190, 1170, 10, nil)},
		{"skip", ActivationFilter{Skip: 17}, starts(1020, 1000, 10, nil)},
		{"limit and skip", ActivationFilter{Limit: 2, Skip: 1}, []int64{1180, 1170}},
		{"name, limit and skip", ActivationFilter{Name: "a", Limit: 2, Skip: 1}, []int64{1150, 1120}},
		{"skip past the end", ActivationFilter{Skip: 100}, []int64{}},
		{"since after everything", ActivationFilter{Since: 5000}, []int64{}},
		{"upto before everything", ActivationFilter{Upto: 999}, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := s.ListActivations("guest", tt.filter)
			require.NoError(t, err)
			got := []int64{}
			for _, a := range list {
				got = append(got, a.Start)
				assert.Equal(t, byStart[a.Start], a)
			}
			assert.Equal(t, tt.want, got)

			unlimited := tt.filter
			unlimited.Limit = MaxListLimit
			all, err := s.ListActivations("guest", unlimited)
			require.NoError(t, err)
			n, err := s.CountActivations("guest", tt.filter)
			require.NoError(t, err)
			assert.Equal(t, len(all), n, "count: what the list holds with no limit, skip applied")
		})
	}

	t.Run("unknown namespace", func(t *testing.T) {
		list, err := s.ListActivations("nobody", ActivationFilter{})
		require.NoError(t, err)
		assert.Equal(t, []entity.Activation{}, list)
		n, err := s.CountActivations("nobody", ActivationFilter{})
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

// OpenWhisk's bounds: 30 by default, never more than 200.
func TestListActivationsLimits(t *testing.T) {
	s := openTest(t, t.TempDir())
	var wg sync.WaitGroup
	for i := range 210 {
		wg.Go(func() { assert.NoError(t, s.PutActivation(activation("guest", "guest/a", int64(i)))) })
	}
	wg.Wait()
	for _, tt := range []struct{ limit, want int }{{0, 30}, {200, 200}, {500, 200}} {
		list, err := s.ListActivations("guest", ActivationFilter{Limit: tt.limit})
		require.NoError(t, err)
		assert.Len(t, list, tt.want, "limit %d", tt.limit)
		assert.Equal(t, int64(209), list[0].Start)
	}
}

// A restart loses nothing: actions, versions and activations come back.
func TestPersistenceAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	require.NoError(t, err)
	mkPackage(t, s, "guest", "pkg")
	put, err := s.PutAction(action("guest", "pkg/hello", "img"), false)
	require.NoError(t, err)
	act := activation("guest", "guest/pkg/hello", 1234)
	require.NoError(t, s.PutActivation(act))
	require.NoError(t, s.Close())

	s, err = Open(dir)
	require.NoError(t, err)
	defer s.Close()
	got, err := s.GetAction("guest", "pkg/hello")
	require.NoError(t, err)
	assert.Equal(t, put, got)
	gotAct, err := s.GetActivation("guest", act.ActivationID)
	require.NoError(t, err)
	assert.Equal(t, act, gotAct)
	list, err := s.ListActivations("guest", ActivationFilter{Name: "pkg/hello"})
	require.NoError(t, err)
	assert.Equal(t, []entity.Activation{act}, list)
	again, err := s.PutAction(action("guest", "pkg/hello", "img:2"), true)
	require.NoError(t, err)
	assert.Equal(t, "0.0.2", again.Version, "the version continues from the stored one")
}

// Many goroutines write activations while others read; run with -race.
func TestConcurrentPutActivation(t *testing.T) {
	s := openTest(t, t.TempDir())
	const writers, each = 32, 25
	ids := make([][]string, writers)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := s.ListActivations("guest", ActivationFilter{Limit: 50})
				assert.NoError(t, err)
			}
		})
	}
	// One id written by every writer, as response and completion writes race.
	shared := activation("guest", "guest/shared", 1)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				a := activation("guest", fmt.Sprintf("guest/w%d", w), int64(w*1000+i))
				ids[w] = append(ids[w], a.ActivationID)
				assert.NoError(t, s.PutActivation(a))
			}
			b := shared
			b.Start = int64(100 + w)
			assert.NoError(t, s.PutActivation(b))
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	for w := range writers {
		for _, id := range ids[w] {
			_, err := s.GetActivation("guest", id)
			assert.NoError(t, err)
		}
		list, err := s.ListActivations("guest", ActivationFilter{Name: fmt.Sprintf("w%d", w), Limit: 200})
		require.NoError(t, err)
		assert.Len(t, list, each)
	}
	sharedList, err := s.ListActivations("guest", ActivationFilter{Name: "shared"})
	require.NoError(t, err)
	require.Len(t, sharedList, 1, "replacements leave one record")
	got, err := s.GetActivation("guest", shared.ActivationID)
	require.NoError(t, err)
	assert.Equal(t, sharedList[0], got)
}

// TestStageActivation: a staged record is readable at once, and a list
// begun then waits for its write; a second staging of the same record is what is read until
// its own write, whichever write ends first; a write leaves the stored
// record, which survives a reopen; an invalid record stages nothing.
func TestStageActivation(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	listed := func() []string {
		all, err := s.ListActivations("guest", ActivationFilter{})
		require.NoError(t, err)
		ids := []string{}
		for _, a := range all {
			ids = append(ids, a.ActivationID)
		}
		return ids
	}
	get := func(id string) entity.Activation {
		got, err := s.GetActivation("guest", id)
		require.NoError(t, err)
		return got
	}

	a := activation("guest", "guest/hello", 1000)
	writePending, err := s.StageActivation(a, true)
	require.NoError(t, err)
	assert.Equal(t, a, get(a.ActivationID), "readable before its write")
	// A list that starts once the record is readable waits for its write.
	listing := make(chan []string, 1)
	go func() { listing <- listed() }()
	require.NoError(t, writePending())
	select {
	case ids := <-listing:
		assert.Equal(t, []string{a.ActivationID}, ids, "listed once written")
	case <-time.After(stagedWait + time.Minute):
		t.Fatal("the list did not return")
	}

	first, final := a, a
	first.Logs = []string{"first"}
	final.Annotations = append(entity.KeyValues(nil), a.Annotations...)
	require.NoError(t, final.Annotations.SetJSON(entity.AnnotationCompletion, entity.CompletionDone))
	writeFirst, err := s.StageActivation(first, true)
	require.NoError(t, err)
	writeFinal, err := s.StageActivation(final, false)
	require.NoError(t, err)
	assert.Equal(t, final, get(a.ActivationID), "the later staging is read")
	require.NoError(t, writeFirst())
	assert.Equal(t, final, get(a.ActivationID), "the first write does not hide the later staging")
	require.NoError(t, writeFinal())
	assert.Equal(t, final, get(a.ActivationID), "read from the database now")
	n, err := s.SettlePending("unused")
	require.NoError(t, err)
	assert.Zero(t, n, "the final write cleared the pending mark")

	for _, tc := range []struct {
		name string
		edit func(*entity.Activation)
	}{
		{"no id", func(a *entity.Activation) { a.ActivationID = "" }},
		{"bad namespace", func(a *entity.Activation) { a.Namespace = "" }},
		{"negative start", func(a *entity.Activation) { a.Start = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := activation("guest", "guest/bad", 2000)
			tc.edit(&bad)
			_, err := s.StageActivation(bad, false)
			require.Error(t, err)
			_, err = s.GetActivation("guest", bad.ActivationID)
			assert.ErrorIs(t, err, ErrNotFound)
		})
	}

	require.NoError(t, s.Close())
	s = openTest(t, dir)
	assert.Equal(t, final, get(a.ActivationID), "durable across a reopen")
}
