package testenv

import (
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/internal/syncbuf"
)

// processStopBound is how long a child has to exit after SIGTERM when its
// test ends, before it is killed.
const processStopBound = 2 * time.Minute

// Process is a child process the test started, whose output (stdout and
// stderr together) it keeps for its assertions and failure messages.
type Process struct {
	Name string
	Cmd  *exec.Cmd
	// Exited is closed when the process has exited.
	Exited chan struct{}
	out    syncbuf.Buffer
}

// Output is what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// StartProcess starts cmd; when the test ends it is sent SIGTERM, then
// SIGKILL if it has not exited within processStopBound (a test error).
func StartProcess(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{Name: name, Cmd: cmd, Exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	require.NoError(t, cmd.Start(), "start %s", name)
	go func() {
		_ = cmd.Wait()
		close(p.Exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.Exited:
		case <-time.After(processStopBound):
			t.Errorf("%s did not exit within %s of SIGTERM; killed. Its output:\n%s", name, processStopBound, p.Output())
			_ = cmd.Process.Kill()
			<-p.Exited
		}
	})
	return p
}
