package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// shimProc is the epilogue-shim subprocess.
type shimProc struct {
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	exited  chan struct{} // closed once cmd.Wait returned
	waitErr error         // cmd.Wait's result; set before exited is closed
	log     *os.File      // its stdout and stderr
	version string
}

// startShim starts bin listening on dir/docker.sock, journaling in
// dir/journal, forwarding to docker and receiving pushes on notify, logging
// to logPath (kept: it explains a failure), and waits until it answers a
// ping through t. It is stopped with stop, and also (SIGTERM, then SIGKILL
// after 5 s) when ctx ends.
func startShim(ctx context.Context, bin, dir, docker, notify, logPath string, t *target) (_ *shimProc, err error) {
	p := &shimProc{exited: make(chan struct{})}
	vctx, vcancel := context.WithTimeout(ctx, stateBound)
	out, _ := exec.CommandContext(vctx, bin, "-version").Output()
	vcancel()
	p.version = strings.TrimSpace(string(out))
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	if p.log, err = os.Create(logPath); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	p.cmd = exec.CommandContext(pctx, bin,
		"--listen", "unix://"+filepath.Join(dir, "docker.sock"), "--journal", filepath.Join(dir, "journal"),
		"--docker", docker, "--notify-listen", notify)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	// The shim's graceful stop first; exec kills it if it has not exited
	// after WaitDelay.
	p.cmd.Cancel = func() error { return p.cmd.Process.Signal(syscall.SIGTERM) }
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		cancel()
		_ = p.log.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w; %s", err, p.stderrTail())
			_ = p.stop()
		}
	}()

	until := time.Now().Add(stateBound)
	var buf bytes.Buffer
	for {
		_, perr := do(ctx, t.client, http.MethodHead, dockerBase+"/_ping", nil, http.StatusOK, &buf)
		if perr == nil {
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("epilogue-shim exited at start (%v)", p.waitErr)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(until) {
			return nil, fmt.Errorf("epilogue-shim does not answer a ping after %s: %w", stateBound, perr)
		}
	}
}

// stop stops the shim (SIGTERM, then SIGKILL) and waits for it. It is
// idempotent.
func (p *shimProc) stop() error {
	if p.cancel == nil {
		return nil
	}

	p.cancel()
	p.cancel = nil
	var err error
	select {
	case <-p.exited:
		// A shim that exits 0 after the SIGTERM makes Wait return the
		// context's error; anything else (an exit status, a kill after
		// WaitDelay) is the shim's failure to stop.
		if p.waitErr != nil && !errors.Is(p.waitErr, context.Canceled) {
			err = fmt.Errorf("epilogue-shim did not stop cleanly: %w", p.waitErr)
		}
	case <-time.After(3 * p.cmd.WaitDelay):
		err = errors.New("epilogue-shim did not exit after SIGTERM and SIGKILL")
	}
	_ = p.log.Close()
	return err
}

// stderrTail returns the last lines the shim logged, for error messages.
func (p *shimProc) stderrTail() string {
	if p == nil || p.log == nil {
		return "(the shim did not start)"
	}
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		return "the shim's log: " + err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "the shim's log ends: " + strings.Join(lines, " | ")
}
