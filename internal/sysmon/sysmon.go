package sysmon

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/epilogue-dev/epilogue/completion"
)

// ErrReexec wraps a failed re-execution: the program goes on with the
// runtime's default, slower but correct.
var ErrReexec = errors.New("sysmon: cannot re-execute this program")

// schedtrace is the GODEBUG item that keeps sysmon out of its deep sleep:
// the largest period the runtime accepts (an int32 of milliseconds).
const schedtrace = "schedtrace=2147483647"

// Poll makes the running program's sysmon poll instead of sleeping deeply
// (see the package comment), by re-executing it once with schedtrace set
// and standard error filtered. It returns in the re-executed program once
// standard error is restored, or without re-executing when environ says
// not to: completion.EnvSysmon=sleep, or a GODEBUG that sets schedtrace
// already. A failed re-execution is undone and reported as ErrReexec; the
// program can go on with the runtime's default then. Any other error is a
// setting to correct. Call it first thing in main, before anything is
// written to standard error.
func Poll() error {
	if fds := os.Getenv(completion.EnvSysmonFDs); fds != "" {
		return resume(fds)
	}
	switch v := os.Getenv(completion.EnvSysmon); v {
	case "", completion.SysmonPoll:
	case completion.SysmonSleep:
		return nil
	default:
		return fmt.Errorf("%s=%q: want %s (the default) or %s", completion.EnvSysmon, v, completion.SysmonPoll, completion.SysmonSleep)
	}
	if setsSchedtrace(os.Getenv("GODEBUG")) {
		return nil
	}
	return reexec()
}

// reexec replaces the program with itself, schedtrace set, file
// descriptor 2 a pipe whose read end and the real standard error the new
// program finds in completion.EnvSysmonFDs. It returns only on failure,
// with descriptor 2 restored.
func reexec() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrReexec, err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], 0); err != nil { // no O_CLOEXEC: both ends outlive exec
		return fmt.Errorf("%w: %w", ErrReexec, err)
	}
	// Both descriptors are above 2: the runtime opens /dev/null on any of
	// 0, 1 and 2 a program starts without (runtime.checkfds).
	stderr, err := unix.Dup(2) // no FD_CLOEXEC either
	if err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return fmt.Errorf("%w: %w", ErrReexec, err)
	}
	env := append(withGodebug(os.Environ(), addItem(os.Getenv("GODEBUG"), schedtrace)),
		completion.EnvSysmonFDs+"="+strconv.Itoa(stderr)+","+strconv.Itoa(p[0]))
	err = unix.Dup3(p[1], 2, 0)
	unix.Close(p[1])
	if err == nil {
		err = syscall.Exec(exe, os.Args, env)
		_ = unix.Dup3(stderr, 2, 0)
	}
	unix.Close(stderr)
	unix.Close(p[0])
	return fmt.Errorf("%w %s: %w", ErrReexec, exe, err)
}

// resume runs in the re-executed program: the real standard error becomes
// os.Stderr (and the log package's and crash output's), and a goroutine
// relays what reaches descriptor 2 to it, without the runtime's trace.
func resume(fds string) error {
	stderrFD, pipeFD, err := parseFDs(fds)
	if err != nil {
		return err
	}
	unix.CloseOnExec(stderrFD)
	unix.CloseOnExec(pipeFD)
	// Non-blocking, the relay waits in the runtime's poller: a read that
	// blocked would hold the one processor until the monitor took it back.
	if err := unix.SetNonblock(pipeFD, true); err != nil {
		return fmt.Errorf("sysmon: %w", err)
	}
	stderr := os.NewFile(uintptr(stderrFD), "/dev/stderr")
	os.Stderr = stderr
	log.SetOutput(stderr)
	// A fatal error stops every goroutine, the relay's too: the runtime
	// writes its report to stderr directly as well as to descriptor 2.
	_ = debug.SetCrashOutput(stderr, debug.CrashOptions{})
	relayDone = make(chan struct{})
	go relay(os.NewFile(uintptr(pipeFD), "runtime-stderr"), &Filter{W: stderr}, relayDone)
	// Children (the action) do not inherit the trace, nor these descriptors.
	_ = os.Unsetenv(completion.EnvSysmonFDs)
	if g := removeItem(os.Getenv("GODEBUG"), schedtrace); g != "" {
		_ = os.Setenv("GODEBUG", g)
	} else {
		_ = os.Unsetenv("GODEBUG")
	}
	return nil
}

func parseFDs(v string) (stderr, pipe int, err error) {
	a, b, ok := strings.Cut(v, ",")
	if ok {
		stderr, err = strconv.Atoi(a)
		if err == nil {
			pipe, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || stderr < 3 || pipe < 3 || stderr == pipe {
		return 0, 0, fmt.Errorf("%s=%q: set by the proxy for itself alone; unset it", completion.EnvSysmonFDs, v)
	}
	return stderr, pipe, nil
}

// relayDone is closed when the relay has passed on everything written to
// descriptor 2 (which stays open for the program's life: the tests close it).
var relayDone chan struct{}

func relay(r io.Reader, f *Filter, done chan<- struct{}) {
	_, _ = io.Copy(f, r)
	_ = f.Flush()
	close(done)
}

// setsSchedtrace reports whether a GODEBUG value sets schedtrace (the
// last setting of a key wins, so any one does).
func setsSchedtrace(godebug string) bool {
	for item := range strings.SplitSeq(godebug, ",") {
		if k, _, _ := strings.Cut(item, "="); strings.TrimSpace(k) == "schedtrace" {
			return true
		}
	}
	return false
}

func addItem(list, item string) string {
	if list == "" {
		return item
	}
	return list + "," + item
}

func removeItem(list, item string) string {
	var kept []string
	for it := range strings.SplitSeq(list, ",") {
		if it != item && it != "" {
			kept = append(kept, it)
		}
	}
	return strings.Join(kept, ",")
}

// withGodebug is environ with GODEBUG set to v.
func withGodebug(environ []string, v string) []string {
	out := make([]string, 0, len(environ)+2)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			out = append(out, kv)
		}
	}
	return append(out, "GODEBUG="+v)
}
