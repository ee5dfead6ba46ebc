package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/epilogue-dev/epilogue/standalone/backend"
)

// Bounds.
const (
	// LogDrainTimeout bounds how long Remove waits for the log stream to be
	// delivered to the readers of Logs; past it, the readers fail with
	// errLogsCut instead of reaching io.EOF.
	LogDrainTimeout = 5 * time.Second
	// removePoll is the pause between checks while the engine finishes a
	// removal another caller started.
	removePoll = 50 * time.Millisecond
)

// errLogsCut ends log readers that were not read before the container's
// removal plus LogDrainTimeout.
var errLogsCut = errors.New("backend/docker: the container was removed before its logs were read")

// dockerContainer is one container of the engine.
type dockerContainer struct {
	b    *Backend
	id   string
	name string
	addr string

	// ops serialises Pause, Unpause, Remove and Logs (a one-slot semaphore,
	// so that waiting for it honours ctx).
	ops chan struct{}
	// removed and pump are guarded by ops.
	removed bool
	pump    *logPump
}

var _ backend.Container = (*dockerContainer)(nil)

func newContainer(b *Backend, id, name string) *dockerContainer {
	return &dockerContainer{b: b, id: id, name: name, ops: make(chan struct{}, 1)}
}

// ID returns the Docker container ID.
func (c *dockerContainer) ID() string { return c.id }

// Name returns the Docker container name (Spec.Name with the prefix).
func (c *dockerContainer) Name() string { return c.name }

// Addr returns IP:8080 on the backend's network.
func (c *dockerContainer) Addr() string { return c.addr }

func (c *dockerContainer) acquire(ctx context.Context) (release func(), err error) {
	select {
	case c.ops <- struct{}{}:
		return func() { <-c.ops }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Pause freezes the container (ContainerPause); pausing a paused container
// succeeds.
func (c *dockerContainer) Pause(ctx context.Context) error {
	return c.setPaused(ctx, "pause", true)
}

// Unpause thaws the container (ContainerUnpause); unpausing a running
// container succeeds.
func (c *dockerContainer) Unpause(ctx context.Context) error {
	return c.setPaused(ctx, "unpause", false)
}

func (c *dockerContainer) setPaused(ctx context.Context, op string, paused bool) error {
	release, err := c.acquire(ctx)
	if err != nil {
		return fmt.Errorf("backend/docker: %s %s: %w", op, c.name, err)
	}
	defer release()
	if c.removed {
		return fmt.Errorf("backend/docker: %s %s: %w", op, c.name, backend.ErrRemoved)
	}
	if paused {
		err = c.b.eng.ContainerPause(ctx, c.id)
	} else {
		err = c.b.eng.ContainerUnpause(ctx, c.id)
	}
	if err == nil {
		return nil
	}
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("backend/docker: %s %s: %w: %w", op, c.name, backend.ErrRemoved, err)
	}
	// "is already paused" / "is not paused": fine if the state is the one
	// wanted. Anything else (not running, engine error) is an error.
	if info, ierr := c.b.eng.ContainerInspect(ctx, c.id); ierr == nil && info.State != nil &&
		info.State.Running && info.State.Paused == paused {
		return nil
	}
	return fmt.Errorf("backend/docker: %s %s: %w", op, c.name, err)
}

// Paused reports the engine's State.Paused.
func (c *dockerContainer) Paused(ctx context.Context) (bool, error) {
	info, err := c.b.eng.ContainerInspect(ctx, c.id)
	if err != nil {
		return false, fmt.Errorf("backend/docker: inspect %s: %w", c.name, err)
	}
	return info.State != nil && info.State.Paused, nil
}

// Remove force-removes the container and its anonymous volumes
// (ContainerRemove), paused or not; a container already gone counts as
// removed. It then waits, at most LogDrainTimeout, for the log stream to
// reach the readers of Logs.
func (c *dockerContainer) Remove(ctx context.Context) error {
	release, err := c.acquire(ctx)
	if err != nil {
		return fmt.Errorf("backend/docker: remove %s: %w", c.name, err)
	}
	defer release()
	if c.removed {
		return nil
	}
	if err := c.removeFromEngine(ctx); err != nil {
		return fmt.Errorf("backend/docker: remove %s: %w", c.name, err)
	}
	c.removed = true
	c.b.forget(c)
	if c.pump != nil {
		c.pump.finish(ctx)
	}
	return nil
}

// removeFromEngine removes the container; when another removal is in
// progress, it waits until the container is gone.
func (c *dockerContainer) removeFromEngine(ctx context.Context) error {
	err := c.b.eng.ContainerRemove(ctx, c.id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	if !cerrdefs.IsConflict(err) {
		return err
	}
	for {
		_, ierr := c.b.eng.ContainerInspect(ctx, c.id)
		if cerrdefs.IsNotFound(ierr) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still there: %w)", err, ctx.Err())
		case <-time.After(removePoll):
		}
	}
}

// Logs follows the container's stdout and stderr from its start
// (ContainerLogs with Follow), until its removal.
func (c *dockerContainer) Logs() (stdout, stderr io.ReadCloser, err error) {
	c.ops <- struct{}{} // bounded: every holder of ops is
	defer func() { <-c.ops }()
	if c.removed {
		return nil, nil, fmt.Errorf("backend/docker: logs of %s: %w", c.name, backend.ErrRemoved)
	}
	if c.pump != nil {
		return nil, nil, fmt.Errorf("backend/docker: the logs of %s were already taken (Logs may be called once)", c.name)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rc, err := c.b.eng.ContainerLogs(ctx, c.id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		cancel()
		if cerrdefs.IsNotFound(err) {
			return nil, nil, fmt.Errorf("backend/docker: logs of %s: %w: %w", c.name, backend.ErrRemoved, err)
		}
		return nil, nil, fmt.Errorf("backend/docker: logs of %s: %w", c.name, err)
	}
	c.pump = newLogPump(rc, cancel)
	return c.pump.stdout, c.pump.stderr, nil
}

// logPump demultiplexes one log stream into two pipes.
type logPump struct {
	cancel         context.CancelFunc // ends the stream
	outW, errW     *io.PipeWriter
	stdout, stderr *logReader
	done           chan struct{} // closed when run has returned

	mu   sync.Mutex
	open int // readers not closed yet; guarded by mu
}

func newLogPump(rc io.ReadCloser, cancel context.CancelFunc) *logPump {
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	p := &logPump{cancel: cancel, outW: outW, errW: errW, done: make(chan struct{}), open: 2}
	p.stdout = &logReader{PipeReader: outR, p: p}
	p.stderr = &logReader{PipeReader: errR, p: p}
	go p.run(rc)
	return p
}

// run copies the stream until it ends: at the container's removal, or when
// the readers are closed, or when finish cuts it.
func (p *logPump) run(rc io.ReadCloser) {
	defer close(p.done)
	_, err := stdcopy.StdCopy(discardIfClosed{p.outW}, discardIfClosed{p.errW}, rc)
	_ = rc.Close()
	p.cancel()
	_ = p.outW.CloseWithError(err) // nil: io.EOF
	_ = p.errW.CloseWithError(err)
}

// finish waits for the stream to end after the container's removal, at
// most LogDrainTimeout (or ctx); past it, it cuts the stream and the
// readers get errLogsCut.
func (p *logPump) finish(ctx context.Context) {
	t := time.NewTimer(LogDrainTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	case <-ctx.Done():
	}
	_ = p.outW.CloseWithError(errLogsCut)
	_ = p.errW.CloseWithError(errLogsCut)
	p.cancel()
	<-p.done // prompt: the writes and the stream are cut
}

// readerClosed ends the stream once both readers are closed.
func (p *logPump) readerClosed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open--; p.open == 0 {
		p.cancel()
	}
}

// logReader is one end of the pump; Close counts.
type logReader struct {
	*io.PipeReader
	p    *logPump
	once sync.Once
}

func (r *logReader) Close() error {
	r.once.Do(func() {
		_ = r.PipeReader.Close()
		r.p.readerClosed()
	})
	return nil
}

// discardIfClosed drops what is written for a reader that was closed, so
// the other stream keeps flowing.
type discardIfClosed struct{ w *io.PipeWriter }

func (d discardIfClosed) Write(b []byte) (int, error) {
	n, err := d.w.Write(b)
	if errors.Is(err, io.ErrClosedPipe) {
		return len(b), nil
	}
	return n, err
}
