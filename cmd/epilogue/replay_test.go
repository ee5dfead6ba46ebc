package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/keepalive"
	"github.com/epilogue-dev/epilogue/replay/live"
)

func TestParseReplayArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o replayOptions)
		wantErr string // substring of stderr; "" = no error
	}{
		{name: "a dataset, flags after DIR", args: []string{"data", "--policies", "fixed,seasonal", "--json"}, check: func(t *testing.T, o replayOptions) {
			assert.Equal(t, "data", o.dir)
			assert.Equal(t, []string{"fixed", "seasonal"}, o.policies)
			assert.True(t, o.json)
			assert.Equal(t, []int{0}, o.memoryMB)
		}},
		{name: "synthetic defaults", args: []string{"--synthetic"}, check: func(t *testing.T, o replayOptions) {
			assert.Equal(t, uint64(1), o.seed)
			assert.Equal(t, 7, o.days)
			assert.Equal(t, keepalive.Names, o.policies)
		}},
		{name: "budgets", args: []string{"--synthetic", "--memory", "0,20480"}, check: func(t *testing.T, o replayOptions) {
			assert.Equal(t, []int{0, 20480}, o.memoryMB)
		}},
		{name: "neither", args: nil, wantErr: "want one DIR, a directory of the Azure Functions 2019 dataset, or --synthetic"},
		{name: "both", args: []string{"--synthetic", "data"}, wantErr: "--synthetic generates the trace: give no DIR"},
		{name: "two dirs", args: []string{"a", "b"}, wantErr: "got 2 arguments"},
		{name: "bad policy", args: []string{"--synthetic", "--policies", "fixed,lru"}, wantErr: `--policies: unknown keep-alive policy "lru"`},
		{name: "bad days", args: []string{"--synthetic", "--days", "0"}, wantErr: "--days 0: want 1 to 31"},
		{name: "bad memory", args: []string{"--synthetic", "--memory", "1G"}, wantErr: `--memory "1G": want megabytes`},
		{name: "negative memory", args: []string{"--synthetic", "--memory", "-5"}, wantErr: `--memory "-5"`},
		{name: "sample", args: []string{"data", "--sample", "0.25"}, check: func(t *testing.T, o replayOptions) { assert.Equal(t, 0.25, o.sample) }},
		{name: "bad sample", args: []string{"data", "--sample", "2"}, wantErr: "--sample 2: want a share from 0 to 1"},
		{name: "sample of synthetic", args: []string{"--synthetic", "--sample", "0.5"}, wantErr: "--sample narrows a dataset"},
		{name: "write without synthetic", args: []string{"data", "--write", "out"}, wantErr: "--write writes a synthetic trace"},
		{name: "live", args: []string{"--synthetic", "--live", "--speedup", "120", "--live-functions", "2", "--live-minutes", "90", "--proxy", "bin/p"},
			check: func(t *testing.T, o replayOptions) {
				assert.True(t, o.live)
				assert.Equal(t, 120.0, o.liveCfg.Speedup)
				assert.Equal(t, 2, o.liveCfg.Functions)
				assert.Equal(t, 90*time.Minute, o.liveCfg.Window)
				assert.Equal(t, "bin/p", o.liveCfg.ProxyPath)
			}},
		{name: "live defaults", args: []string{"data", "--live"}, check: func(t *testing.T, o replayOptions) {
			assert.Equal(t, float64(live.DefaultSpeedup), o.liveCfg.Speedup)
			assert.Equal(t, live.DefaultFunctions, o.liveCfg.Functions)
			assert.Zero(t, o.liveCfg.Window, "the window live picks for the speed-up")
		}},
		{name: "speedup without live", args: []string{"--synthetic", "--speedup", "10"}, wantErr: "set up a live replay: add --live"},
		{name: "live-minutes without live", args: []string{"--synthetic", "--live-minutes", "10"}, wantErr: "add --live"},
		{name: "speedup below 1", args: []string{"--synthetic", "--live", "--speedup", "0.5"}, wantErr: "--speedup 0.5: want 1 or more"},
		{name: "no functions", args: []string{"--synthetic", "--live", "--live-functions", "0"}, wantErr: "--live-functions 0: want at least 1"},
		{name: "negative minutes", args: []string{"--synthetic", "--live", "--live-minutes", "-1"}, wantErr: "--live-minutes -1"},
		{name: "live with budgets", args: []string{"--synthetic", "--live", "--memory", "0,1024"}, wantErr: "--memory with --live: one budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseReplayArgs(tt.args, &stderr)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, stderr.String(), tt.wantErr)
				assert.Contains(t, stderr.String(), "Run 'epilogue replay -h' for the usage.")
				return
			}
			require.NoError(t, err, stderr.String())
			tt.check(t, o)
		})
	}
}

// TestReplayJSONAndDataset: the synthetic trace, written, replays from its
// directory to the same JSON; a broken file fails with its location.
func TestReplayJSONAndDataset(t *testing.T) {
	dir := t.TempDir()
	var synth, fromDir, stderr bytes.Buffer
	code := run(t.Context(), []string{"replay", "--synthetic", "--seed", "2", "--days", "1", "--functions", "20", "--write", dir, "--json"}, &synth, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	var out struct {
		Policies []map[string]any `json:"policies"`
	}
	require.NoError(t, json.Unmarshal(synth.Bytes(), &out))
	require.Len(t, out.Policies, 4)
	for i, p := range out.Policies {
		assert.Equal(t, keepalive.Names[i], p["policy"])
		for _, k := range []string{"coldStartRatio", "coldStartRatioP75App", "wastedMemorySeconds", "memoryVsFixed", "prewarmAccuracy", "lingerShare"} {
			assert.Contains(t, p, k)
		}
	}
	code = run(t.Context(), []string{"replay", dir, "--json"}, &fromDir, &stderr)
	require.Equal(t, exitOK, code, stderr.String())
	assert.JSONEq(t, synth.String(), fromDir.String())

	inv := filepath.Join(dir, "invocations_per_function_md.anon.d01.csv")
	require.NoError(t, os.WriteFile(inv, []byte("HashOwner,HashApp\n"), 0o644))
	stderr.Reset()
	code = run(t.Context(), []string{"replay", dir}, &fromDir, &stderr)
	assert.Equal(t, exitError, code)
	assert.Contains(t, stderr.String(), inv+":1: missing column HashFunction")
}
