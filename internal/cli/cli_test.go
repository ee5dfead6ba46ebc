package cli

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "5s", want: 5 * time.Second},
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "0", want: 0},
		{in: "5", wantErr: `"5" has no unit: write a duration with one, e.g. 5s or 5ms`},
		{in: "1.5", wantErr: `e.g. 1.5s`},
		{in: "soon", wantErr: `"soon" is not a duration: write e.g. 5s`},
		{in: "", wantErr: `"" is not a duration`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFlagErrorComesLast(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		wantLine string
	}{
		{"bare number", []string{"--linger", "5"}, `demo: invalid value "5" for flag -linger: "5" has no unit: write a duration with one, e.g. 5s or 5ms`},
		{"unknown flag", []string{"--nope"}, "demo: flag provided but not defined: -nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			fs := NewFlagSet("demo", "Usage: demo [flags]\n", &stderr)
			fs.Duration("linger", time.Second, "how long")
			err := fs.Parse(tc.args)
			require.Error(t, err)
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			require.Len(t, lines, 2, "the error and the hint, no usage dump: %q", stderr.String())
			assert.Equal(t, tc.wantLine, lines[0])
			assert.Equal(t, "Run 'demo -h' for the usage.", lines[1])
		})
	}
}

func TestHelpPrintsUsageAndFlags(t *testing.T) {
	var stderr bytes.Buffer
	fs := NewFlagSet("demo", "Usage: demo [flags]\n", &stderr)
	d := fs.Duration("linger", time.Second, "how long")
	require.ErrorIs(t, fs.Parse([]string{"-h"}), flag.ErrHelp)
	assert.True(t, strings.HasPrefix(stderr.String(), "Usage: demo [flags]\n"))
	assert.Contains(t, stderr.String(), "-linger duration")
	assert.Contains(t, stderr.String(), "how long (a duration, e.g. 5s) (default 1s)")
	assert.Equal(t, time.Second, *d)
}

func TestIsVersion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"version"}, true},
		{[]string{"--version"}, true},
		{[]string{"-version"}, true},
		{[]string{"version", "x"}, false},
		{nil, false},
		{[]string{"build"}, false},
	} {
		assert.Equal(t, tc.want, IsVersion(tc.args), "%q", tc.args)
	}
}
