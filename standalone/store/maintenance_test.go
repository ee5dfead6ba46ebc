package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func TestSettlePending(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	open := activation("guest", "guest/lingering", 1000)
	require.NoError(t, s.PutPendingActivation(open))

	answered := activation("guest", "guest/finished", 2000) // pending, then stored again with its outcome
	require.NoError(t, s.PutPendingActivation(answered))
	_ = answered.Annotations.SetJSON(entity.AnnotationCompletion, entity.CompletionDone)
	require.NoError(t, s.PutActivation(answered))

	vanilla := activation("other", "other/plain", 3000) // never pending: stock semantics record no outcome
	require.NoError(t, s.PutActivation(vanilla))

	// The crash: the server stops without storing the outcome; a restart
	// opens the same file.
	require.NoError(t, s.Close())
	s = openTest(t, dir)
	n, err := s.SettlePending("the server stopped")
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	for _, tc := range []struct {
		a          entity.Activation
		completion string
		errs       []string
	}{
		{open, `"failed"`, []string{"the server stopped"}},
		{answered, `"done"`, nil},
		{vanilla, "", nil},
	} {
		t.Run(tc.a.Name, func(t *testing.T) {
			got, err := s.GetActivation(tc.a.Namespace, tc.a.ActivationID)
			require.NoError(t, err)
			c, _ := got.Annotations.Get(entity.AnnotationCompletion)
			assert.Equal(t, tc.completion, string(c))
			var errs []string
			if raw, ok := got.Annotations.Get(entity.AnnotationPostResponseErrors); ok {
				require.NoError(t, json.Unmarshal(raw, &errs))
			}
			assert.Equal(t, tc.errs, errs)
			assert.Equal(t, tc.a.Response, got.Response, "the response is kept")
		})
	}
	n, err = s.SettlePending("again")
	require.NoError(t, err)
	assert.Zero(t, n, "settling twice settles nothing more")
}

func TestPrune(t *testing.T) {
	now := time.UnixMilli(10_000_000)
	for _, tc := range []struct {
		name      string
		retention Retention
		wantKept  map[string][]int64 // namespace → starts kept, newest first
		wantCount int
	}{
		{"no bounds keep all", Retention{}, map[string][]int64{"a": {9_000_000, 8_000_000, 7_000_000, 1_000}, "b": {5_000}}, 0},
		{"by count, per namespace", Retention{MaxPerNamespace: 2}, map[string][]int64{"a": {9_000_000, 8_000_000}, "b": {5_000}}, 2},
		{"by age", Retention{MaxAge: 2_500 * time.Second}, map[string][]int64{"a": {9_000_000, 8_000_000}, "b": {}}, 3},
		{"by both", Retention{MaxPerNamespace: 1, MaxAge: time.Hour}, map[string][]int64{"a": {9_000_000}, "b": {}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := OpenOptions(t.TempDir(), Options{Now: func() time.Time { return now }})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			for _, a := range []entity.Activation{
				activation("a", "a/x", 1_000), activation("a", "a/x", 7_000_000),
				activation("a", "a/y", 8_000_000), activation("a", "a/x", 9_000_000),
				activation("b", "b/z", 5_000),
			} {
				require.NoError(t, s.PutPendingActivation(a))
			}
			n, err := s.Prune(tc.retention)
			require.NoError(t, err)
			assert.Equal(t, tc.wantCount, n)
			for ns, want := range tc.wantKept {
				list, err := s.ListActivations(ns, ActivationFilter{})
				require.NoError(t, err)
				got := []int64{}
				for _, a := range list {
					got = append(got, a.Start)
					_, err := s.GetActivation(ns, a.ActivationID)
					assert.NoError(t, err)
				}
				assert.Equal(t, want, got, "namespace %s", ns)
				byName, err := s.ListActivations(ns, ActivationFilter{Name: "x"})
				require.NoError(t, err)
				for _, a := range byName {
					assert.Contains(t, want, a.Start, "the name index holds no pruned record")
				}
			}
			settled, err := s.SettlePending("after pruning")
			require.NoError(t, err)
			assert.Equal(t, 5-tc.wantCount, settled, "pruned records leave no pending mark")
		})
	}
}
