package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	invokershim "github.com/epilogue-dev/epilogue/invoker-shim"
)

// shimStartTimeout bounds the start of the invoker shim.
const shimStartTimeout = 30 * time.Second

// shimRun is an epilogue-shim in front of the Docker engine, as an operator
// runs it: the shim-restart fault stops and starts it mid-scenario, over
// the same socket, journal and event port.
type shimRun struct {
	env    *env
	dir    string
	notify string // host:port of its event listener, kept across restarts
	cancel context.CancelFunc
	done   chan error
}

// startShim starts a shim journaling in dir whose event listener is on the
// containers' host at port ("0": any).
func startShim(e *env, dir, port string) (*shimRun, error) {
	sh := &shimRun{env: e, dir: dir, notify: net.JoinHostPort(e.host, port)}
	return sh, sh.start()
}

func (sh *shimRun) dockerHost() string { return "unix://" + filepath.Join(sh.dir, "docker.sock") }

func (sh *shimRun) start() error {
	ready := make(chan struct{})
	s, err := invokershim.New(invokershim.Config{
		Listen: []string{sh.dockerHost()}, JournalDir: filepath.Join(sh.dir, "journal"),
		NotifyListen: sh.notify, Logger: sh.env.cfg.Logger.With("component", "epilogue-shim"),
		Ready: func() { close(ready) },
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	sh.cancel, sh.done = cancel, make(chan error, 1)
	go func() { sh.done <- s.Run(ctx) }()
	select {
	case <-ready:
	case err := <-sh.done:
		return fmt.Errorf("epilogue-shim did not start: %w", err)
	case <-time.After(shimStartTimeout):
		cancel()
		return fmt.Errorf("epilogue-shim did not start within %s", shimStartTimeout)
	}
	// Later starts listen where the containers were told to push.
	_, port, _ := net.SplitHostPort(s.NotifyURL()[len("http://"):])
	sh.notify = net.JoinHostPort(sh.env.host, port)
	return nil
}

// stop stops the shim as a crash would: what it deferred stays in its
// journal.
func (sh *shimRun) stop() error {
	if sh.cancel == nil {
		return nil
	}
	sh.cancel()
	sh.cancel = nil
	select {
	case err := <-sh.done:
		return err
	case <-time.After(shimStartTimeout):
		return errors.New("epilogue-shim did not stop within " + shimStartTimeout.String())
	}
}

// restart stops the shim and starts a new one on the same journal.
func (sh *shimRun) restart() error {
	if err := sh.stop(); err != nil {
		return err
	}
	return sh.start()
}
