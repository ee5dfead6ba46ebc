package process

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/standalone/backend"
)

// Bounds of the lifecycle operations.
const (
	// FreezeTimeout bounds Pause and Unpause: the time for every thread of
	// the container to stop, or to run again.
	FreezeTimeout = 5 * time.Second
	// RemoveTimeout bounds Remove: the time for every process of the
	// container to be gone after SIGKILL.
	RemoveTimeout = 5 * time.Second
	// pollMin and pollMax bound the pause between checks of /proc.
	pollMin = time.Millisecond
	pollMax = 20 * time.Millisecond
)

// listenFD is the descriptor the listening socket has in the proxy:
// ExtraFiles[0].
const listenFD = 3

// Files of a container's directory.
const (
	rootDir   = "root"
	stdoutLog = "stdout.log"
	stderrLog = "stderr.log"
)

// container is one proxy process and its session.
type container struct {
	b    *Backend
	name string
	dir  string
	addr string
	pid  int // the proxy's pid, its session id and its process group id

	// exited is closed when the proxy has exited and been reaped; waitErr
	// is written before.
	exited  chan struct{}
	waitErr error

	// ops serialises Pause, Unpause, Remove and Logs (a one-slot semaphore,
	// so that waiting for it honours ctx).
	ops chan struct{}
	// isRemoved is guarded by ops.
	isRemoved bool
	// removed is closed when Remove has killed every process.
	removed chan struct{}

	logsTaken atomic.Bool
}

var _ backend.Container = (*container)(nil)

// start starts the proxy of spec in a new directory.
func start(b *Backend, spec backend.Spec) (_ *container, err error) {
	dir, err := os.MkdirTemp(b.workDir, spec.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("backend/process: create the directory of %s: %w", spec.Name, err)
	}
	var toClose []io.Closer
	defer func() {
		for _, c := range toClose {
			_ = c.Close()
		}
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	if err := os.Mkdir(filepath.Join(dir, rootDir), 0o755); err != nil {
		return nil, fmt.Errorf("backend/process: %w", err)
	}
	var logs [2]*os.File
	for i, name := range []string{stdoutLog, stderrLog} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("backend/process: %w", err)
		}
		toClose = append(toClose, f)
		logs[i] = f
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("backend/process: listen on 127.0.0.1: %w", err)
	}
	toClose = append(toClose, ln)
	lnFile, err := ln.File() // a duplicate: the socket stays open in the proxy once ours are closed
	if err != nil {
		return nil, fmt.Errorf("backend/process: %w", err)
	}
	toClose = append(toClose, lnFile)

	cmd := &exec.Cmd{
		Path:       b.proxy,
		Args:       []string{b.proxy},
		Dir:        filepath.Join(dir, rootDir),
		Env:        environment(b, spec),
		Stdout:     logs[0],
		Stderr:     logs[1],
		ExtraFiles: []*os.File{lnFile},
		// A session of its own: the proxy puts each action in a process
		// group of its own, so the session is what spans the container.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL},
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("backend/process: start %s: %w", b.proxy, err)
	}
	c := &container{
		b: b, name: spec.Name, dir: dir, addr: ln.Addr().String(), pid: cmd.Process.Pid,
		exited: make(chan struct{}), ops: make(chan struct{}, 1), removed: make(chan struct{}),
	}
	go c.wait(cmd)
	return c, nil
}

// environment is the proxy's whole environment, sorted.
func environment(b *Backend, spec backend.Spec) []string {
	env := map[string]string{
		completion.EnvWaitForAck: "1", // ENV of the epilogue/action-go image
		completion.EnvInstance:   spec.Name,
	}
	if b.apiHost != "" {
		env["__OW_API_HOST"] = b.apiHost
	}
	maps.Copy(env, spec.Env)
	env[completion.EnvListenFD] = strconv.Itoa(listenFD)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// wait reaps the proxy; Remove waits for it.
func (c *container) wait(cmd *exec.Cmd) {
	c.waitErr = cmd.Wait()
	close(c.exited)
}

// ID returns the proxy's pid, in decimal.
func (c *container) ID() string { return strconv.Itoa(c.pid) }

// Name returns Spec.Name.
func (c *container) Name() string { return c.name }

// Addr returns the 127.0.0.1:port the proxy serves on.
func (c *container) Addr() string { return c.addr }

// Dir returns the container's directory (removed by Remove).
func (c *container) Dir() string { return c.dir }

// acquire takes ops, within ctx.
func (c *container) acquire(ctx context.Context) (release func(), err error) {
	select {
	case c.ops <- struct{}{}:
		return func() { <-c.ops }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// usableLocked reports ErrRemoved, or an error if the proxy has exited. ops must be held.
func (c *container) usableLocked(op string) error {
	if c.isRemoved {
		return fmt.Errorf("backend/process: %s %s: %w", op, c.name, backend.ErrRemoved)
	}
	select {
	case <-c.exited:
		return fmt.Errorf("backend/process: %s %s: the container is not running (its proxy exited: %v); remove it", op, c.name, c.waitErr)
	default:
		return nil
	}
}

// Logs follows the proxy's stdout and stderr from the start.
func (c *container) Logs() (stdout, stderr io.ReadCloser, err error) {
	c.ops <- struct{}{} // bounded: every holder of ops is
	defer func() { <-c.ops }()
	if c.isRemoved {
		return nil, nil, fmt.Errorf("backend/process: logs of %s: %w", c.name, backend.ErrRemoved)
	}
	if !c.logsTaken.CompareAndSwap(false, true) {
		return nil, nil, fmt.Errorf("backend/process: the logs of %s were already taken (Logs may be called once)", c.name)
	}
	out, err := newFollower(filepath.Join(c.dir, stdoutLog), c.removed)
	if err != nil {
		return nil, nil, fmt.Errorf("backend/process: %w", err)
	}
	errs, err := newFollower(filepath.Join(c.dir, stderrLog), c.removed)
	if err != nil {
		_ = out.Close()
		return nil, nil, fmt.Errorf("backend/process: %w", err)
	}
	return out, errs, nil
}

// Pause stops every process of the container with SIGSTOP and returns once
// all their threads are stopped (at most FreezeTimeout).
func (c *container) Pause(ctx context.Context) error {
	release, err := c.acquire(ctx)
	if err != nil {
		return fmt.Errorf("backend/process: pause %s: %w", c.name, err)
	}
	defer release()
	if err := c.usableLocked("pause"); err != nil {
		return err
	}
	return c.signalUntil(ctx, "pause", syscall.SIGSTOP, frozen)
}

// Unpause resumes every process of the container with SIGCONT and returns
// once none is stopped (at most FreezeTimeout).
func (c *container) Unpause(ctx context.Context) error {
	release, err := c.acquire(ctx)
	if err != nil {
		return fmt.Errorf("backend/process: unpause %s: %w", c.name, err)
	}
	defer release()
	if err := c.usableLocked("unpause"); err != nil {
		return err
	}
	return c.signalUntil(ctx, "unpause", syscall.SIGCONT, thawed)
}

// signalUntil sends sig to every process group of the session whose
// processes are not yet settled, until all are, or FreezeTimeout passes.
// Rescanning catches processes started while it works.
func (c *container) signalUntil(ctx context.Context, op string, sig syscall.Signal, settled func(proc) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, FreezeTimeout)
	defer cancel()
	for gap := pollMin; ; gap = min(2*gap, pollMax) {
		procs, err := session(c.pid)
		if err != nil {
			return fmt.Errorf("backend/process: %s %s: %w", op, c.name, err)
		}
		var pending []proc
		for _, p := range procs {
			ok, err := settled(p)
			if err != nil {
				return fmt.Errorf("backend/process: %s %s: %w", op, c.name, err)
			}
			if !ok {
				pending = append(pending, p)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if err := signalGroups(pending, sig); err != nil {
			return fmt.Errorf("backend/process: %s %s: %w", op, c.name, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("backend/process: %s %s: %d processes (e.g. pid %d, state %c) did not settle: %w",
				op, c.name, len(pending), pending[0].pid, pending[0].state, ctx.Err())
		case <-time.After(gap):
		}
	}
}

// Paused reports whether every thread of every process of the container is
// stopped, as /proc shows it; a container without processes is not paused.
func (c *container) Paused(context.Context) (bool, error) {
	procs, err := session(c.pid)
	if err != nil || len(procs) == 0 {
		return false, err
	}
	for _, p := range procs {
		if ok, err := frozen(p); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// Remove kills every process of the container with SIGKILL (a stopped
// process dies too), waits until none is left and the proxy is reaped (at
// most RemoveTimeout), then removes the container's directory. It is
// idempotent; after it, the log followers read to the end and stop.
func (c *container) Remove(ctx context.Context) error {
	release, err := c.acquire(ctx)
	if err != nil {
		return fmt.Errorf("backend/process: remove %s: %w", c.name, err)
	}
	defer release()
	if c.isRemoved {
		return nil
	}
	if err := c.killAll(ctx); err != nil {
		return fmt.Errorf("backend/process: remove %s: %w", c.name, err)
	}
	c.isRemoved = true
	close(c.removed)
	c.b.forget(c)
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("backend/process: remove %s: the processes are gone, but not the directory: %w", c.name, err)
	}
	return nil
}

// killAll sends SIGKILL to the session until it is empty and the proxy is
// reaped.
func (c *container) killAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, RemoveTimeout)
	defer cancel()
	for gap := pollMin; ; gap = min(2*gap, pollMax) {
		procs, err := session(c.pid)
		if err != nil {
			return err
		}
		if err := signalGroups(procs, syscall.SIGKILL); err != nil {
			return err
		}
		select {
		case <-c.exited:
			if len(procs) == 0 {
				return nil
			}
		default:
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d processes of session %d are still alive: %w", len(procs), c.pid, ctx.Err())
		case <-time.After(gap):
		}
	}
}
