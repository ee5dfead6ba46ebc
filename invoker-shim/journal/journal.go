package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// FileName is the journal's file in its directory.
const FileName = "journal.jsonl"

// compactAfter is how many lines the file may hold before it is rewritten
// with the open operations only.
const compactAfter = 4096

// maxLine caps one line on replay; an entry is far smaller.
const maxLine = 1 << 20

// State is where an operation is. Deferred is the only open state.
type State string

// States.
const (
	// Deferred: the invoker was answered (pause) or is held (the others);
	// the operation waits for the runtime to be done.
	Deferred State = "deferred"
	// Cancelled: an unpause (or a removal) made a deferred pause moot.
	Cancelled State = "cancelled"
	// Applied: forwarded to the daemon once the runtime was done.
	Applied State = "applied"
	// Forced: forwarded because the bound passed with work still pending.
	Forced State = "forced"
	// Failed: the daemon refused it, or the container was gone.
	Failed State = "failed"
)

// Terminal reports whether s ends an operation.
func (s State) Terminal() bool { return s != Deferred }

// Entry is one line of the journal.
type Entry struct {
	ID uint64 `json:"id"`
	// Op names the operation (pause, remove, kill, stop): the shim's.
	Op        string    `json:"op"`
	Container string    `json:"container"`
	State     State     `json:"state"`
	Time      time.Time `json:"time"`
	// Path is the original request's, with its API version prefix, for
	// the record. Query is its query string (rm's force, v and link,
	// kill's signal, stop's t and signal): the shim reads the operation's
	// options from it, so that it is sent to the daemon as it was asked.
	Path  string `json:"path,omitempty"`
	Query string `json:"query,omitempty"`
	// Activations names the activations a forced operation cut.
	Activations []string `json:"activations,omitempty"`
	Reason      string   `json:"reason,omitempty"`
}

// ErrUnknown: Resolve of an operation that is not open.
var ErrUnknown = errors.New("journal: no such open operation")

// Journal is an open journal file. It is safe for concurrent use.
type Journal struct {
	dir string

	mu    sync.Mutex
	f     *os.File         // guarded by mu
	next  uint64           // guarded by mu; the next operation id
	open  map[uint64]Entry // guarded by mu
	lines int              // guarded by mu; lines in the file
}

// Open opens, or creates, the journal in dir and replays it.
func Open(dir string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: create %s: %w; pass a writable --journal DIR", dir, err)
	}
	j := &Journal{dir: dir, next: 1, open: map[uint64]Entry{}}
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("journal: read %s: %w", path, err)
	}
	valid, err := j.replay(data)
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w; move the file away to start with an empty journal (deferred operations in it are then forgotten)", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	// Cut a torn last line, so the next entry starts a line of its own.
	if err := f.Truncate(int64(valid)); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("journal: truncate the torn end of %s: %w", path, err)
	}
	if _, err := f.Seek(int64(valid), 0); err != nil {
		_ = f.Close()
		return nil, err
	}
	j.f = f
	return j, nil
}

// replay applies every complete line and returns the length of the valid
// prefix. A line that does not parse is an error unless it is the last one
// and has no newline (a torn write).
func (j *Journal) replay(data []byte) (int, error) {
	valid := 0
	for len(data) > valid {
		rest := data[valid:]
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			return valid, nil // torn last line
		}
		line := rest[:nl]
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil || e.ID == 0 || e.Op == "" || e.Container == "" {
			return 0, fmt.Errorf("line %d is not a journal entry: %q", j.lines+1, truncate(line))
		}
		j.applyLocked(e)
		valid += nl + 1
	}
	return valid, nil
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return append(slices.Clone(b[:80]), "…"...)
	}
	return b
}

func (j *Journal) applyLocked(e Entry) {
	j.lines++
	if e.ID >= j.next {
		j.next = e.ID + 1
	}
	if e.State.Terminal() {
		delete(j.open, e.ID)
	} else {
		j.open[e.ID] = e
	}
}

// Defer records a new deferred operation (e's Op, Container, Path and
// Query) and returns it with its ID, once it is on disk.
func (j *Journal) Defer(e Entry) (Entry, error) {
	if e.Op == "" || e.Container == "" {
		return Entry{}, errors.New("journal: a deferred operation needs an Op and a Container")
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	e.ID, e.State, e.Time = j.next, Deferred, time.Now().UTC()
	if err := j.writeLocked(e); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Resolve records how operation id ended, once it is on disk.
func (j *Journal) Resolve(id uint64, s State, reason string, activations []string) (Entry, error) {
	if !s.Terminal() {
		return Entry{}, fmt.Errorf("journal: %q does not end an operation", s)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.open[id]
	if !ok {
		return Entry{}, fmt.Errorf("%w: %d", ErrUnknown, id)
	}
	e.State, e.Time, e.Reason, e.Activations = s, time.Now().UTC(), reason, activations
	if err := j.writeLocked(e); err != nil {
		return Entry{}, err
	}
	if j.lines >= compactAfter {
		if err := j.compactLocked(); err != nil {
			return e, err
		}
	}
	return e, nil
}

// Open returns the open operations, oldest first.
func (j *Journal) Open() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, 0, len(j.open))
	for _, e := range j.open {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return int(a.ID) - int(b.ID) })
	return out
}

// writeLocked appends e and syncs the file.
func (j *Journal) writeLocked(e Entry) error {
	if j.f == nil {
		return errors.New("journal: closed")
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: encode: %w", err)
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal: write: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: sync: %w", err)
	}
	j.applyLocked(e)
	return nil
}

// compactLocked rewrites the file with the open operations only: a new
// file, synced, renamed over the old one, and the directory synced.
func (j *Journal) compactLocked() error {
	tmp := filepath.Join(j.dir, FileName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("journal: compact: %w", err)
	}
	w := bufio.NewWriter(f)
	open := make([]Entry, 0, len(j.open))
	for _, e := range j.open {
		open = append(open, e)
	}
	slices.SortFunc(open, func(a, b Entry) int { return int(a.ID) - int(b.ID) })
	for _, e := range open {
		b, _ := json.Marshal(e) // it was marshalled before
		_, _ = w.Write(append(b, '\n'))
	}
	if err := errors.Join(w.Flush(), f.Sync(), f.Close()); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("journal: compact: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(j.dir, FileName)); err != nil {
		return fmt.Errorf("journal: compact: %w", err)
	}
	if d, err := os.Open(j.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	nf, err := os.OpenFile(filepath.Join(j.dir, FileName), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: reopen after compaction: %w", err)
	}
	_ = j.f.Close()
	j.f, j.lines = nf, len(open)
	return nil
}

// Close closes the file; later writes fail.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
