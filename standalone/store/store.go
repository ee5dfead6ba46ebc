package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the database file inside the data directory.
const FileName = "epilogue.db"

// DefaultOpenTimeout is how long Open waits for another process to release
// the database file.
const DefaultOpenTimeout = 5 * time.Second

// batchDelay is how long concurrent activation writes wait to share a commit.
const batchDelay = time.Millisecond

// schemaVersion is the layout described in doc.go.
const schemaVersion = "1"

// Errors callers branch on.
var (
	// ErrNotFound: no action or activation with that name or id.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: PutAction without overwrite found the action already there.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: the write contradicts the stored state (a package that
	// still holds actions, a package turned into a binding); the message is
	// the controller's.
	ErrConflict = errors.New("store: conflict")
	// ErrBadBinding: a binding names a missing package or another binding.
	ErrBadBinding = errors.New("store: bad binding")
	// ErrBinding: actions cannot be written to or deleted from a binding.
	ErrBinding = errors.New("store: not permitted on a binding")
	// ErrStale: the action changed after the activation that asks for its
	// code was accepted.
	ErrStale = errors.New("store: the action changed")
	// ErrLocked: another process has the database open.
	ErrLocked = errors.New("store: database in use by another process")
)

var (
	bucketMeta        = []byte("meta")
	bucketActions     = []byte("actions")
	bucketPackages    = []byte("packages")
	bucketTriggers    = []byte("triggers")
	bucketRules       = []byte("rules")
	bucketActivations = []byte("activations")
	bucketPending     = []byte("pending")
	bucketCode        = []byte("code")
	keySchema         = []byte("schema")
)

// Options tune Open. The zero value gives the defaults.
type Options struct {
	// OpenTimeout bounds the wait for another process's lock on the file;
	// 0 means DefaultOpenTimeout.
	OpenTimeout time.Duration
	// Now is the clock for Action.Updated; nil means time.Now.
	Now func() time.Time
}

// Store holds the database. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	now  func() time.Time

	stagedMu  sync.Mutex
	staged    map[string]stagedRecord // StageActivation's records not yet written, by stagedKey
	stagedSeq uint64
}

// Open opens, or creates, dir/epilogue.db (mode 0600; dir is created 0700 if
// missing) with the default Options.
func Open(dir string) (*Store, error) { return OpenOptions(dir, Options{}) }

// OpenOptions is Open with opts.
func OpenOptions(dir string, opts Options) (*Store, error) {
	if opts.OpenTimeout <= 0 {
		opts.OpenTimeout = DefaultOpenTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if dir == "" {
		return nil, errors.New("store: no data directory given; pass --data DIR")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: cannot create the data directory: %w; pass a writable --data DIR", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.OpenTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is still locked after %s; is another `epilogue standalone --data %s` running? Stop it, or use another --data directory", ErrLocked, path, opts.OpenTimeout, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w; if the file is not an Epilogue database, move it away or use another --data directory", path, err)
	}
	// Batch (PutActivation) waits this long for other writers to join one
	// transaction and one fsync; bbolt's default of 10 ms would be added to
	// every lone write.
	db.MaxBatchDelay = batchDelay
	s := &Store{db: db, path: path, now: opts.Now, staged: map[string]stagedRecord{}}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketActions, bucketPackages, bucketTriggers, bucketRules, bucketActivations, bucketPending, bucketCode} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("store: create bucket %s in %s: %w", name, s.path, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keySchema); {
		case v == nil:
			return meta.Put(keySchema, []byte(schemaVersion))
		case string(v) != schemaVersion:
			return fmt.Errorf("store: %s has layout version %q, this build reads %q; run the epilogue version that wrote it, or use another --data directory", s.path, v, schemaVersion)
		}
		return nil
	})
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close releases the file. Calls after Close fail.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	return nil
}

// wrapTx adds the package prefix to errors that bbolt or encoding returned.
func (s *Store) wrapTx(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return fmt.Errorf("store: %s is closed: %w", s.path, err)
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrExists), errors.Is(err, ErrConflict),
		errors.Is(err, ErrBadBinding), errors.Is(err, ErrBinding):
		return err
	default:
		return fmt.Errorf("store: %s: %w", s.path, err)
	}
}

// List bounds, OpenWhisk's.
const (
	DefaultListLimit = 30
	MaxListLimit     = 200
)

// listBounds normalises limit and skip: limit ≤ 0 is DefaultListLimit, above
// MaxListLimit is MaxListLimit; a negative skip is 0.
func listBounds(limit, skip int) (int, int) {
	switch {
	case limit <= 0:
		limit = DefaultListLimit
	case limit > MaxListLimit:
		limit = MaxListLimit
	}
	return limit, max(skip, 0)
}
