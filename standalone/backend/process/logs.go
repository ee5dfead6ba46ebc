package process

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// logPollInterval is how often a follower looks for more output once it has
// read everything written so far.
const logPollInterval = 20 * time.Millisecond

// follower reads a log file as `tail -f` does, from its start, until the
// container is removed and the file is read to its end.
type follower struct {
	f *os.File
	// removed is closed once no process of the container can write any more.
	removed <-chan struct{}
	// closed is closed by Close; it ends a Read that waits for output.
	closed    chan struct{}
	closeOnce sync.Once
}

func newFollower(path string, removed <-chan struct{}) (*follower, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &follower{f: f, removed: removed, closed: make(chan struct{})}, nil
}

// Read returns what the container has written and not yet been read,
// waiting for more while the container exists; after its removal it returns
// the rest, then io.EOF.
func (r *follower) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	timer := time.NewTimer(logPollInterval)
	defer timer.Stop()
	for {
		n, err := r.f.Read(p)
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, r.closedOr(err)
		}
		select {
		case <-r.closed:
			return 0, os.ErrClosed
		case <-r.removed:
			// The writers are gone: the file holds all there will be.
			n, err := r.f.Read(p)
			if n > 0 {
				return n, nil
			}
			if err == nil || errors.Is(err, io.EOF) {
				return 0, io.EOF
			}
			return 0, r.closedOr(err)
		case <-timer.C:
			timer.Reset(logPollInterval)
		}
	}
}

// closedOr reports a read error, or os.ErrClosed if Close caused it.
func (r *follower) closedOr(err error) error {
	select {
	case <-r.closed:
		return os.ErrClosed
	default:
		return err
	}
}

// Close ends the follower; a Read waiting for output returns os.ErrClosed.
func (r *follower) Close() error {
	var err error
	r.closeOnce.Do(func() {
		close(r.closed)
		err = r.f.Close()
	})
	return err
}
