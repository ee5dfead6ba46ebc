package conformance

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
)

// TestRuntimeMonitorKeptAwake: by default the proxy re-executes itself
// with GODEBUG's schedtrace set (internal/sysmon), as its own environment
// at exec shows; the action inherits neither the setting nor the
// descriptors, and the proxy still serves and logs as before. With
// EPILOGUE_SYSMON=sleep, or a schedtrace of the user's, it does not.
func TestRuntimeMonitorKeptAwake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		env    []string
		reexec bool
	}{
		{name: "default", reexec: true},
		{name: "poll", env: []string{completion.EnvSysmon + "=poll"}, reexec: true},
		{name: "sleep", env: []string{completion.EnvSysmon + "=sleep"}},
		{name: "the user's schedtrace", env: []string{"GODEBUG=schedtrace=100000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startProxy(t, withEnv(tc.env...))
			environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.cmd.Process.Pid))
			require.NoError(t, err)
			assert.Equal(t, tc.reexec, bytes.Contains(environ, []byte("\x00GODEBUG=schedtrace=2147483647\x00")),
				"the proxy's environment at its last exec: %q", environ)

			p.mustInit(t, fixtureInit(t, nil))
			p.run(t, obj{"quiet": true, "envprefix": "GODEBUG"}).requireJSON(t, `{"env":""}`)
			p.run(t, obj{"quiet": true, "envprefix": "EPILOGUE_SYSMON"}).requireJSON(t, `{"env":""}`)
			p.run(t, obj{"name": "x"}).requireJSON(t, `{"name":"x"}`) // logs "hello stderr"
			p.expectSentinels(t, 3)
			assert.Contains(t, p.stderr.String(), "hello stderr")
			if tc.name != "the user's schedtrace" { // theirs prints, on a host up long enough
				assert.NotContains(t, p.stderr.String(), "SCHED ")
			}
		})
	}
}
