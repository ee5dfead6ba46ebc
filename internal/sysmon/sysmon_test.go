package sysmon

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/epilogue-dev/epilogue/completion"
)

// helperEnv makes the test binary act as a program that calls Poll.
const helperEnv = "SYSMON_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

// helper calls Poll, then reports on stdout what the program sees and
// writes to its standard error both ways: through os.Stderr, and to
// descriptor 2 as the runtime does (a trace line among them).
func helper() int {
	if err := Poll(); err != nil {
		fmt.Fprintln(os.Stderr, "poll:", err)
		return 3
	}
	environ, _ := os.ReadFile("/proc/self/environ")
	fmt.Printf("exec-env-schedtrace=%v\n", bytes.Contains(environ, []byte(schedtrace)))
	fmt.Printf("GODEBUG=%s\n", os.Getenv("GODEBUG"))
	fmt.Printf("fds=%s\n", os.Getenv(completion.EnvSysmonFDs))
	fmt.Fprintln(os.Stderr, "via os.Stderr")
	_, _ = unix.Write(2, []byte(traceSample+"via descriptor 2\n"))
	if relayDone != nil {
		// The runtime's descriptor 2 ends here so that the relay passes on all.
		_ = unix.Close(2)
		<-relayDone
	}
	return 0
}

func TestPoll(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       []string
		reexec    bool
		godebug   string // GODEBUG as the program sees it after Poll
		exit      int
		stderrHas string
	}{
		{name: "default: re-executed, the trace filtered", reexec: true},
		{name: "poll", env: []string{completion.EnvSysmon + "=poll"}, reexec: true},
		{name: "the user's GODEBUG is kept", env: []string{"GODEBUG=gctrace=0"}, reexec: true, godebug: "gctrace=0"},
		{name: "sleep: the runtime's default", env: []string{completion.EnvSysmon + "=sleep"}},
		{name: "schedtrace set by the user", env: []string{"GODEBUG=schedtrace=100000000"}, godebug: "schedtrace=100000000"},
		{name: "a wrong value", env: []string{completion.EnvSysmon + "=fast"}, exit: 3, stderrHas: `EPILOGUE_SYSMON="fast": want poll (the default) or sleep`},
		{name: "descriptors from elsewhere", env: []string{completion.EnvSysmonFDs + "=1,2"}, exit: 3, stderrHas: "set by the proxy for itself alone; unset it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(cleanEnv(), append(tc.env, helperEnv+"=1")...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.exit != 0 {
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee)
				assert.Equal(t, tc.exit, ee.ExitCode())
				assert.Contains(t, stderr.String(), tc.stderrHas)
				return
			}
			require.NoError(t, err, "stderr: %s", stderr.String())
			assert.Equal(t, fmt.Sprintf("exec-env-schedtrace=%v\nGODEBUG=%s\nfds=\n", tc.reexec, tc.godebug), stdout.String())
			if tc.reexec {
				assert.Equal(t, "via os.Stderr\nvia descriptor 2\n", stderr.String(), "the trace line is dropped, all else kept")
			} else {
				assert.Equal(t, "via os.Stderr\n"+traceSample+"via descriptor 2\n", stderr.String())
			}
		})
	}
}

// cleanEnv is the test's environment without the settings Poll reads.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") && !strings.HasPrefix(kv, "EPILOGUE_SYSMON") {
			env = append(env, kv)
		}
	}
	return env
}
