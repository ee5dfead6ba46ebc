package docker

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/standalone/backend"
)

// fakeEngine answers the calls the unit tests make; the others panic
// through the nil embedded interface.
type fakeEngine struct {
	engine
	pause   func() error
	remove  func() error
	inspect func() (container.InspectResponse, error)
	logs    func(ctx context.Context) (io.ReadCloser, error)
}

func (f *fakeEngine) ContainerPause(context.Context, string) error { return f.pause() }
func (f *fakeEngine) ContainerRemove(context.Context, string, container.RemoveOptions) error {
	return f.remove()
}
func (f *fakeEngine) ContainerInspect(context.Context, string) (container.InspectResponse, error) {
	return f.inspect()
}
func (f *fakeEngine) ContainerLogs(ctx context.Context, _ string, _ container.LogsOptions) (io.ReadCloser, error) {
	return f.logs(ctx)
}

func state(s container.State) func() (container.InspectResponse, error) {
	return func() (container.InspectResponse, error) {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &s}}, nil
	}
}

func TestPauseErrors(t *testing.T) {
	conflict := cerrdefs.ErrConflict.WithMessage("Container x is already paused")
	notRunning := cerrdefs.ErrConflict.WithMessage("Container x is not running")
	for _, tc := range []struct {
		name    string
		pause   error
		state   container.State
		wantErr error // nil: success
		wantAny bool  // some error
	}{
		{"ok", nil, container.State{}, nil, false},
		{"already paused", conflict, container.State{Running: true, Paused: true}, nil, false},
		{"not running", notRunning, container.State{Running: false}, nil, true},
		{"gone", cerrdefs.ErrNotFound.WithMessage("No such container: x"), container.State{}, backend.ErrRemoved, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(&fakeEngine{pause: func() error { return tc.pause }, inspect: state(tc.state)}, Config{})
			err := newContainer(b, "x", "wsk0_x").Pause(context.Background())
			if !tc.wantAny {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
			}
		})
	}
}

// TestRemoveInProgress: a removal another caller started is waited for.
func TestRemoveInProgress(t *testing.T) {
	inspections := 0
	b := newBackend(&fakeEngine{
		remove: func() error { return cerrdefs.ErrConflict.WithMessage("removal of container x is already in progress") },
		inspect: func() (container.InspectResponse, error) {
			if inspections++; inspections < 3 {
				return state(container.State{})()
			}
			return container.InspectResponse{}, cerrdefs.ErrNotFound
		},
	}, Config{})
	c := newContainer(b, "x", "wsk0_x")
	require.NoError(t, c.Remove(context.Background()))
	assert.Equal(t, 3, inspections)
	assert.ErrorIs(t, c.Pause(context.Background()), backend.ErrRemoved)
}

// muxed returns a multiplexed log stream that holds frames and then stays
// open until ctx ends, like a followed log.
func muxed(ctx context.Context, frames ...[2]string) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		out, errw := stdcopy.NewStdWriter(pw, stdcopy.Stdout), stdcopy.NewStdWriter(pw, stdcopy.Stderr)
		for _, f := range frames {
			w := out
			if f[0] == "stderr" {
				w = errw
			}
			if _, err := w.Write([]byte(f[1])); err != nil {
				return
			}
		}
		<-ctx.Done()
		_ = pw.CloseWithError(ctx.Err())
	}()
	return pr
}

// TestLogsOneReaderClosed: closing stdout leaves stderr flowing; closing
// both ends the stream.
func TestLogsOneReaderClosed(t *testing.T) {
	ended := make(chan struct{})
	b := newBackend(&fakeEngine{logs: func(ctx context.Context) (io.ReadCloser, error) {
		go func() { <-ctx.Done(); close(ended) }()
		return muxed(ctx, [2]string{"stdout", "out 1\n"}, [2]string{"stdout", "out 2\n"}, [2]string{"stderr", "err 1\n"}), nil
	}}, Config{})
	c := newContainer(b, "x", "wsk0_x")
	stdout, stderr, err := c.Logs()
	require.NoError(t, err)
	_, _, err = c.Logs()
	assert.Error(t, err, "a second Logs call")
	require.NoError(t, stdout.Close())
	buf := make([]byte, 64)
	n, err := stderr.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "err 1\n", string(buf[:n]))
	require.NoError(t, stderr.Close())
	select {
	case <-ended:
	case <-time.After(time.Minute): // far above a busy machine's delay
		t.Fatal("closing both readers did not end the stream")
	}
}

// TestLogsCutAtRemove: readers nobody reads do not hold Remove past its
// bound; they then fail rather than reach a misleading EOF.
func TestLogsCutAtRemove(t *testing.T) {
	b := newBackend(&fakeEngine{
		logs: func(ctx context.Context) (io.ReadCloser, error) {
			return muxed(ctx, [2]string{"stdout", "unread\n"}), nil
		},
		remove: func() error { return nil },
	}, Config{})
	c := newContainer(b, "x", "wsk0_x")
	stdout, stderr, err := c.Logs()
	require.NoError(t, err)
	defer stdout.Close()
	defer stderr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond) // Remove's caller allows little time
	defer cancel()
	start := time.Now()
	require.NoError(t, c.Remove(ctx))
	assert.Less(t, time.Since(start), LogDrainTimeout, "Remove waited for the readers past its ctx")
	_, err = io.ReadAll(stdout)
	assert.True(t, errors.Is(err, errLogsCut), "got %v; want errLogsCut", err)
}
