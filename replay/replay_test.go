package replay_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/replay"
)

func TestSyntheticIsSeededAndMixed(t *testing.T) {
	cfg := replay.SyntheticConfig{Seed: 7, Days: 2, Functions: 120}
	a, b := replay.Synthetic(cfg), replay.Synthetic(cfg)
	require.Equal(t, a, b, "the same seed, the same trace")
	cfg.Seed = 8
	assert.NotEqual(t, a, replay.Synthetic(cfg), "another seed, another trace")

	require.Len(t, a.Functions, 120)
	triggers := map[string]int{}
	lingering := 0
	for _, f := range a.Functions {
		require.Len(t, f.Counts, 2*replay.MinutesPerDay)
		triggers[f.Trigger]++
		if f.Linger > 0 {
			lingering++
		}
		assert.Positive(t, f.Duration)
		assert.Positive(t, f.ColdStart)
		assert.GreaterOrEqual(t, f.MemoryMB, 128)
		if f.Trigger == "event" {
			// Rare calls: single calls more than 4 hours apart.
			last := -1
			for m, c := range f.Counts {
				if c == 0 {
					continue
				}
				assert.Equal(t, 1, c)
				if last >= 0 {
					assert.Greater(t, m-last, 4*60, "rare calls at minutes %d and %d", last, m)
				}
				last = m
			}
		}
	}
	for _, trig := range []string{"timer", "http", "queue", "event"} {
		assert.Positive(t, triggers[trig], "no %s function in the mix", trig)
	}
	assert.Greater(t, lingering, 120/3, "about 60%% of functions linger")
	assert.Less(t, lingering, 120*5/6)
	assert.Equal(t, []string{"timer", "poisson", "bursty", "diurnal", "rare"}, replay.Kinds())
}

func TestWriteThenRead(t *testing.T) {
	tr := replay.Synthetic(replay.SyntheticConfig{Seed: 3, Days: 2, Functions: 15})
	dir := t.TempDir()
	require.NoError(t, replay.Write(dir, tr))
	for _, name := range []string{"invocations_per_function_md.anon.d01.csv", "function_durations_percentiles.anon.d02.csv", "app_memory_percentiles.anon.d02.csv"} {
		assert.FileExists(t, filepath.Join(dir, name))
	}
	got, err := replay.Read(dir, replay.ReadOptions{})
	require.NoError(t, err)
	assert.Equal(t, tr, got)

	// A sample keeps whole functions, the same ones every time.
	tests := []struct {
		share    float64
		min, max int
	}{{1, 15, 15}, {0.5, 3, 12}, {0.01, 0, 2}}
	for _, tt := range tests {
		s, err := replay.Read(dir, replay.ReadOptions{Sample: tt.share})
		require.NoError(t, err)
		assert.True(t, len(s.Functions) >= tt.min && len(s.Functions) <= tt.max, "sample %v: %d functions", tt.share, len(s.Functions))
		for _, f := range s.Functions {
			assert.Contains(t, tr.Functions, f)
		}
		again, err := replay.Read(dir, replay.ReadOptions{Sample: tt.share})
		require.NoError(t, err)
		assert.Equal(t, s, again)
	}
}

// dataset writes files (name → content) into a new directory.
func dataset(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

// invocations is an invocations file: the header and rows of the
// function's identity followed by counts (the rest of the 1440 are 0).
func invocations(rows ...string) string {
	var b strings.Builder
	b.WriteString("HashOwner,HashApp,HashFunction,Trigger")
	for m := 1; m <= replay.MinutesPerDay; m++ {
		b.WriteString("," + strconv.Itoa(m))
	}
	b.WriteString("\n")
	for _, r := range rows {
		fields := strings.Count(r, ",") + 1
		b.WriteString(r + strings.Repeat(",0", 4+replay.MinutesPerDay-fields) + "\n")
	}
	return b.String()
}

const inv1 = "invocations_per_function_md.anon.d01.csv"

func TestReadDataset(t *testing.T) {
	dir := dataset(t, map[string]string{
		inv1: invocations("o,a,f,http,3,0,1", "o,a,g,timer,0,2"),
		"invocations_per_function_md.anon.d02.csv":    invocations("o,a,g,timer,5"),
		"function_durations_percentiles.anon.d01.csv": "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0\no,a,f,250.5,4,1,300,1\n",
		"app_memory_percentiles.anon.d01.csv":         "HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1\no,a,3,170.4,100\n",
	})
	tr, err := replay.Read(dir, replay.ReadOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, tr.Days)
	require.Len(t, tr.Functions, 2)
	f, g := tr.Functions[0], tr.Functions[1]
	assert.Equal(t, "o/a/f", f.Key())
	assert.Equal(t, []int{3, 0, 1}, f.Counts[:3])
	assert.Equal(t, 4, f.Invocations(), "absent on day 2: no calls")
	assert.Equal(t, 250500*time.Microsecond, f.Duration)
	assert.Zero(t, f.Linger, "the dataset has no linger")
	assert.Equal(t, replay.DefaultColdStart, f.ColdStart)
	assert.Equal(t, 170, f.MemoryMB)
	assert.Equal(t, replay.DefaultDuration, g.Duration, "no durations row")
	assert.Equal(t, 5, g.Counts[replay.MinutesPerDay])
	assert.Equal(t, 7, g.Invocations())
}

func TestReadErrorsNameFileLineAndColumn(t *testing.T) {
	badHeader := strings.Replace(invocations(), ",Trigger,", ",Trig,", 1)
	tests := []struct {
		name  string
		files map[string]string
		want  string // a substring of the error; FILE is the file's path
	}{
		{"no dataset", map[string]string{"readme.txt": "x"}, "no invocations_per_function_md.anon.dNN.csv file"},
		{"a day missing", map[string]string{inv1: invocations(), "invocations_per_function_md.anon.d03.csv": invocations()}, "day 02 is missing"},
		{"empty file", map[string]string{inv1: ""}, inv1 + ":1: empty file"},
		{"missing column", map[string]string{inv1: badHeader}, inv1 + ":1: missing column Trigger"},
		{"too few minutes", map[string]string{inv1: "HashOwner,HashApp,HashFunction,Trigger,1,2\n"}, inv1 + ":1: 6 columns: want 1444"},
		{"wrong column count", map[string]string{inv1: invocations("o,a,f,http") + "o,a,g,http,1\n"}, inv1 + ":3: 5 columns, want 1444 (as the header)"},
		{"not a count", map[string]string{inv1: invocations("o,a,f,http,0,x")}, inv1 + ":2: column 6 (2): \"x\" is not a count"},
		{"negative count", map[string]string{inv1: invocations("o,a,f,http,-1")}, inv1 + ":2: column 5 (1): \"-1\" is not a count"},
		{"count too large", map[string]string{inv1: invocations("o,a,f,http,1000001")}, "is not a count from 0 to 1000000"},
		{"empty hash", map[string]string{inv1: invocations(",a,f,http")}, inv1 + ":2: column 1 (HashOwner): empty"},
		{"function twice", map[string]string{inv1: invocations("o,a,f,http", "o,a,f,http")}, inv1 + ":3: function o/a/f appears twice"},
		{"bad quote", map[string]string{inv1: invocations() + "o,\"a,f\n"}, inv1 + ":2:"},
		{"bad duration", map[string]string{inv1: invocations("o,a,f,http"),
			"function_durations_percentiles.anon.d01.csv": "HashOwner,HashApp,HashFunction,Average\no,a,f,NaN\n"},
			"function_durations_percentiles.anon.d01.csv:2: column 4 (Average): \"NaN\" is not a number"},
		{"durations without Average", map[string]string{inv1: invocations("o,a,f,http"),
			"function_durations_percentiles.anon.d01.csv": "HashOwner,HashApp,HashFunction\no,a,f\n"},
			"function_durations_percentiles.anon.d01.csv:1: missing column Average"},
		{"bad memory", map[string]string{inv1: invocations("o,a,f,http"),
			"app_memory_percentiles.anon.d01.csv": "HashOwner,HashApp,AverageAllocatedMb\no,a,-3\n"},
			"app_memory_percentiles.anon.d01.csv:2: column 3 (AverageAllocatedMb): \"-3\" is not a number from 0 to 65536"},
		{"repeated column", map[string]string{inv1: invocations("o,a,f,http"),
			"app_memory_percentiles.anon.d01.csv": "HashOwner,HashApp,HashApp,AverageAllocatedMb\n"},
			"app_memory_percentiles.anon.d01.csv:1: column 3 (HashApp): repeated column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := dataset(t, tt.files)
			_, err := replay.Read(dir, replay.ReadOptions{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			var ie *replay.InputError
			if strings.Contains(tt.want, ".csv:") {
				require.True(t, errors.As(err, &ie), "%v", err)
				assert.True(t, strings.HasPrefix(ie.File, dir), "the error names the file's path: %s", ie.File)
			}
		})
	}
}

func day(t *testing.T, f replay.Function) *replay.Trace {
	t.Helper()
	if f.Counts == nil {
		f.Counts = make([]int, replay.MinutesPerDay)
	}
	f.Owner, f.App, f.Name = "o", "a", "f"
	return &replay.Trace{Days: 1, Functions: []replay.Function{f}}
}

// TestSimulateAccountsFromDone: one function called at 00:00:30 and
// 00:10:30, 1 s of work and 20 s of linger. Its first instance is done at
// 00:00:52 (1 s cold start, 1 s, 20 s): the second call comes 9m38s after
// done, within fixed's 10 minutes, so it is warm.
func TestSimulateAccountsFromDone(t *testing.T) {
	f := replay.Function{Duration: time.Second, Linger: 20 * time.Second, ColdStart: time.Second, MemoryMB: 100}
	tr := day(t, f)
	tr.Functions[0].Counts[0], tr.Functions[0].Counts[10] = 1, 1
	r := replay.Simulate(tr, keepalive.NewFixed(keepalive.DefaultIdleTimeout), replay.Config{})
	assert.Equal(t, 2, r.Calls)
	assert.Equal(t, 1, r.ColdStarts)
	assert.InDelta(t, 0.5, r.ColdStartRatio, 1e-12)
	idle := (9*time.Minute + 38*time.Second + 10*time.Minute).Seconds()
	assert.InDelta(t, 100*idle, r.WastedMemorySeconds, 1e-6)
	assert.InDelta(t, 40/(22+21+idle), r.LingerShare, 1e-9)
	// Buckets: 00:00 active, cold (a miss); 00:05 idle held (a false
	// alarm); 00:10 active, warm (a hit); 00:15 and 00:20 held.
	assert.InDelta(t, 1.0/5, r.PrewarmAccuracy, 1e-9)
}

func TestSimulateMemoryBudgetEvicts(t *testing.T) {
	tr := &replay.Trace{Days: 1}
	for i, name := range []string{"f", "g"} {
		c := make([]int, replay.MinutesPerDay)
		c[i] = 1
		c[5] = 1
		tr.Functions = append(tr.Functions, replay.Function{Owner: "o", App: name, Name: name, Counts: c,
			Duration: time.Second, ColdStart: time.Second, MemoryMB: 300})
	}
	tests := []struct {
		memoryMB        int
		cold, evictions int
	}{
		{0, 2, 0},   // both kept: minute 5's calls are warm
		{600, 2, 0}, // both fit
		// g's start evicts f; at minute 5 f's call evicts g, and g's
		// finds f busy: it runs over the budget (no queueing modelled).
		{500, 4, 2},
	}
	for _, tt := range tests {
		r := replay.Simulate(tr, keepalive.NewFixed(keepalive.DefaultIdleTimeout), replay.Config{MemoryMB: tt.memoryMB})
		assert.Equal(t, tt.cold, r.ColdStarts, "memory %d", tt.memoryMB)
		assert.Equal(t, tt.evictions, r.Evictions, "memory %d", tt.memoryMB)
	}
}

// TestSyntheticComparison is the short form of make keepalive-report: a
// small seeded trace under a memory budget, where the hybrid histogram
// beats fixed on both axes.
func TestSyntheticComparison(t *testing.T) {
	tr := replay.Synthetic(replay.SyntheticConfig{Seed: 1, Days: 2, Functions: 60})
	calls := 0
	for _, f := range tr.Functions {
		calls += f.Invocations()
	}
	rs, err := replay.Compare(tr, keepalive.Names, replay.Config{MemoryMB: 8192})
	require.NoError(t, err)
	require.Len(t, rs, len(keepalive.Names))
	again, err := replay.Compare(tr, keepalive.Names, replay.Config{MemoryMB: 8192})
	require.NoError(t, err)
	assert.Equal(t, rs, again, "deterministic")
	byName := map[string]replay.Result{}
	for i, r := range rs {
		assert.Equal(t, keepalive.Names[i], r.Policy)
		byName[r.Policy] = r
		assert.Equal(t, calls, r.Calls, "%s: every call of the trace is replayed", r.Policy)
		assert.Positive(t, r.ColdStarts)
		assert.LessOrEqual(t, r.ColdStarts, r.Calls)
		for _, v := range []float64{r.ColdStartRatio, r.ColdStartRatioP75App, r.PrewarmAccuracy, r.LingerShare} {
			assert.True(t, v > 0 && v < 1, "%s: a ratio out of (0, 1): %v", r.Policy, r)
		}
		assert.LessOrEqual(t, r.PrewarmHits, r.Prewarms)
		assert.Positive(t, r.WastedMemorySeconds)
	}
	assert.Equal(t, 1.0, byName["fixed"].MemoryVsFixed)
	assert.Zero(t, byName["fixed"].Prewarms, "fixed never prewarms")
	assert.Positive(t, byName["histogram"].PrewarmHits, "the histogram prewarms the timers")
	h, f := byName["histogram"], byName["fixed"]
	assert.Less(t, h.ColdStartRatio, f.ColdStartRatio, "histogram: fewer cold starts than fixed")
	assert.Less(t, h.MemoryVsFixed, 1.0, "histogram: less wasted memory than fixed")
	run := replay.Run{MemoryMB: 8192, Results: rs}
	require.NotEmpty(t, run.Dominating())
	assert.Equal(t, "histogram", run.Dominating()[0].Policy)
}
