package process

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// logPollInterval is how often a follower looks for more output once it has
// read everything written so far, when no inotify write event wakes it
// first: the fallback when inotify is unavailable (e.g. the user's
// fs.inotify.max_user_instances is used up), and a safety net otherwise.
// The pool waits for an activation's log sentinels before it answers, so
// with polling alone every blocking invoke would wait half of this on
// average for each stream.
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
	// writes wakes a Read waiting for output when the file is written;
	// nil when inotify is unavailable (then only the poll does).
	writes *writeWatch
}

func newFollower(path string, removed <-chan struct{}) (*follower, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &follower{f: f, removed: removed, closed: make(chan struct{}), writes: watchWrites(path)}, nil
}

// writeWatch signals writes to one file, through inotify.
type writeWatch struct {
	f *os.File // the inotify instance, non-blocking: its Read waits in Go's poller and Close ends it
	// written holds one signal for writes not yet seen: a write between a
	// follower's read at EOF and its wait is not missed.
	written chan struct{}
}

// watchWrites watches path for writes, or returns nil when inotify is
// unavailable.
func watchWrites(path string) *writeWatch {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil
	}
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY); err != nil {
		_ = unix.Close(fd)
		return nil
	}
	w := &writeWatch{f: os.NewFile(uintptr(fd), "inotify:"+path), written: make(chan struct{}, 1)}
	go w.forward()
	return w
}

// forward turns inotify events into signals until Close.
func (w *writeWatch) forward() {
	events := make([]byte, 16*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		if _, err := w.f.Read(events); err != nil {
			return
		}
		select {
		case w.written <- struct{}{}:
		default: // one pending signal covers them all
		}
	}
}

// signal is the channel to wait on, nil (never ready) without a watch.
func (w *writeWatch) signal() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.written
}

func (w *writeWatch) close() {
	if w != nil {
		_ = w.f.Close()
	}
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
		case <-r.writes.signal():
			// (Reset drops a value the timer may have sent: go.mod's go
			// version is past 1.23.)
			timer.Reset(logPollInterval)
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
		r.writes.close()
		err = r.f.Close()
	})
	return err
}
