package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// Sub-buckets of activations/<ns>/ (see doc.go).
var (
	bucketByStart = []byte("start")
	bucketByID    = []byte("id")
	bucketByName  = []byte("name")
)

// Bounds on what PutActivation accepts as keys.
const (
	maxActivationIDLength = 256
	maxFilterNameLength   = 1024
)

// ActivationFilter selects activations for ListActivations, as the query of
// GET /activations does.
type ActivationFilter struct {
	// Name keeps the activations of one action: "act", or "pkg/act" for an
	// action in a package (entity.Activation.FilterName). Empty keeps all.
	Name string
	// Since and Upto are inclusive bounds on Start in epoch ms; 0 means
	// unbounded.
	Since, Upto int64
	// Limit ≤ 0 means DefaultListLimit; it is capped at MaxListLimit.
	Limit int
	// Skip drops that many matching activations first.
	Skip int
}

// PutActivation inserts a, or replaces the record with the same namespace and
// id (a record is written at the response and again when post-response work
// completes). Its Start may change on replacement.
func (s *Store) PutActivation(a entity.Activation) error { return s.putActivation(a, false) }

// PutPendingActivation is PutActivation for a record whose post-response
// work is still pending: until a later PutActivation of the same record,
// SettlePending counts it as left open.
func (s *Store) PutPendingActivation(a entity.Activation) error { return s.putActivation(a, true) }

func (s *Store) putActivation(a entity.Activation, pending bool) error {
	doc, err := encodeActivation(a)
	if err != nil {
		return err
	}
	return s.writeActivation(a, doc, pending)
}

// StageActivation makes a readable by GetActivation at once and returns
// its durable write, which the caller must call once (it may run on
// another goroutine): the write is PutActivation's (PutPendingActivation's
// when pending), after which GetActivation reads the stored record. This is
// how a blocking invoke is answered from the action's response while its
// record is written alongside, as OpenWhisk's invoker does; ListActivations
// first waits for the writes of the records staged before it (at most
// stagedWait), so that what GetActivation returned is listed too. Writes of the same record must
// be called in the order they were staged. An invalid record is an error
// here, with nothing staged; a failed write leaves nothing staged either.
func (s *Store) StageActivation(a entity.Activation, pending bool) (write func() error, err error) {
	doc, err := encodeActivation(a)
	if err != nil {
		return nil, err
	}
	key := stagedKey(a.Namespace, a.ActivationID)
	s.stagedMu.Lock()
	s.stagedSeq++
	seq := s.stagedSeq
	written := make(chan struct{})
	s.staged[key] = stagedRecord{doc: doc, seq: seq, written: written}
	s.stagedMu.Unlock()
	return func() error {
		err := s.writeActivation(a, doc, pending)
		close(written)
		s.stagedMu.Lock()
		if st, ok := s.staged[key]; ok && st.seq == seq { // not staged again since
			delete(s.staged, key)
		}
		s.stagedMu.Unlock()
		return err
	}, nil
}

// stagedRecord is a record StageActivation made readable before its write.
type stagedRecord struct {
	doc []byte
	seq uint64 // which staging: only its own write forgets it
	// written is closed once the write has ended (stored or failed).
	written chan struct{}
}

// stagedWait bounds ListActivations' wait for staged writes: a write that
// takes longer (a stalled disk) is listed when it ends.
const stagedWait = 10 * time.Second

// awaitStaged waits, at most stagedWait, for the writes of the records
// staged in namespace so far.
func (s *Store) awaitStaged(namespace string) {
	prefix := stagedKey(namespace, "")
	var writes []chan struct{}
	s.stagedMu.Lock()
	for k, st := range s.staged {
		if strings.HasPrefix(k, prefix) {
			writes = append(writes, st.written)
		}
	}
	s.stagedMu.Unlock()
	if len(writes) == 0 {
		return
	}
	t := time.NewTimer(stagedWait)
	defer t.Stop()
	for _, w := range writes {
		select {
		case <-w:
		case <-t.C:
			return
		}
	}
}

func stagedKey(namespace, id string) string { return namespace + "\x00" + id }

// encodeActivation validates a's keys and encodes it as stored.
func encodeActivation(a entity.Activation) ([]byte, error) {
	if err := entity.ValidateName(a.Namespace); err != nil {
		return nil, fmt.Errorf("store: activation namespace: %w", err)
	}
	if a.ActivationID == "" || len(a.ActivationID) > maxActivationIDLength {
		return nil, fmt.Errorf("store: activation id %q must be 1–%d bytes; use entity.NewActivationID", a.ActivationID, maxActivationIDLength)
	}
	if a.Start < 0 {
		return nil, fmt.Errorf("store: activation %s has a negative start %d; start is epoch milliseconds", a.ActivationID, a.Start)
	}
	name := a.FilterName()
	if len(name) > maxFilterNameLength {
		return nil, fmt.Errorf("store: activation %s has a %d-byte name; at most %d", a.ActivationID, len(name), maxFilterNameLength)
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("store: encode activation %s: %w", a.ActivationID, err)
	}
	return doc, nil
}

// writeActivation stores doc, the encoding of a, durably.
func (s *Store) writeActivation(a entity.Activation, doc []byte, pending bool) error {
	name := a.FilterName()
	id := []byte(a.ActivationID)
	// Batch coalesces concurrent writers into one transaction and one fsync;
	// the function may run more than once, and is idempotent.
	err := s.db.Batch(func(tx *bolt.Tx) error {
		nsb, err := tx.Bucket(bucketActivations).CreateBucketIfNotExists([]byte(a.Namespace))
		if err != nil {
			return err
		}
		byStart, byID, byName, err := subBuckets(nsb, true)
		if err != nil {
			return err
		}
		if prev := byID.Get(id); prev != nil {
			oldStart, oldName, err := decodeIDEntry(prev)
			if err != nil {
				return fmt.Errorf("activation %s: %w", a.ActivationID, err)
			}
			if err := byStart.Delete(startKey(oldStart, id)); err != nil {
				return err
			}
			if err := byName.Delete(nameKey(oldName, oldStart, id)); err != nil {
				return err
			}
		}
		if err := byStart.Put(startKey(a.Start, id), doc); err != nil {
			return err
		}
		if err := byID.Put(id, idEntry(a.Start, name)); err != nil {
			return err
		}
		if err := byName.Put(nameKey(name, a.Start, id), nil); err != nil {
			return err
		}
		if pending {
			return tx.Bucket(bucketPending).Put(pendingKey(a.Namespace, id), nil)
		}
		return tx.Bucket(bucketPending).Delete(pendingKey(a.Namespace, id))
	})
	return s.wrapTx(err)
}

// GetActivation returns the activation with id in namespace, or ErrNotFound.
func (s *Store) GetActivation(namespace, id string) (entity.Activation, error) {
	var a entity.Activation
	s.stagedMu.Lock()
	st, staged := s.staged[stagedKey(namespace, id)]
	s.stagedMu.Unlock()
	if staged {
		if err := decodeActivation(st.doc, &a); err != nil {
			return entity.Activation{}, fmt.Errorf("store: activation %s: %w", id, err)
		}
		return a, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		notFound := fmt.Errorf("%w: activation %s in namespace %s; list recent ones with `wsk activation list`", ErrNotFound, id, namespace)
		nsb := tx.Bucket(bucketActivations).Bucket([]byte(namespace))
		if nsb == nil {
			return notFound
		}
		byStart, byID, _, err := subBuckets(nsb, false)
		if err != nil {
			return err
		}
		entry := byID.Get([]byte(id))
		if entry == nil {
			return notFound
		}
		start, _, err := decodeIDEntry(entry)
		if err != nil {
			return fmt.Errorf("activation %s: %w", id, err)
		}
		doc := byStart.Get(startKey(start, []byte(id)))
		if doc == nil {
			return fmt.Errorf("activation %s: the id index points at a missing record", id)
		}
		return decodeActivation(doc, &a)
	})
	return a, s.wrapTx(err)
}

// ListActivations returns the activations in namespace that match f, newest
// first (by Start; ties by id). Without a name it walks the start index from
// Upto; with one, that name's index; either way it reads only the keys it
// skips and decodes only the records it returns.
func (s *Store) ListActivations(namespace string, f ActivationFilter) ([]entity.Activation, error) {
	s.awaitStaged(namespace)
	limit, skip := listBounds(f.Limit, f.Skip)
	out := []entity.Activation{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachActivation(tx, namespace, f, func(byStart *bolt.Bucket, key, doc []byte) (bool, error) {
			if skip > 0 {
				skip--
				return true, nil
			}
			if doc == nil {
				if doc = byStart.Get(key); doc == nil {
					return false, fmt.Errorf("name index entry %q for %q points at a missing record", key, f.Name)
				}
			}
			var a entity.Activation
			if err := decodeActivation(doc, &a); err != nil {
				return false, err
			}
			out = append(out, a)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, s.wrapTx(err)
	}
	return out, nil
}

// CountActivations returns how many activations ListActivations would
// return with no limit: those matching f, less f.Skip. It reads index keys
// only.
func (s *Store) CountActivations(namespace string, f ActivationFilter) (int, error) {
	s.awaitStaged(namespace)
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachActivation(tx, namespace, f, func(*bolt.Bucket, []byte, []byte) (bool, error) {
			n++
			return true, nil
		})
	})
	if err != nil {
		return 0, s.wrapTx(err)
	}
	return max(n-max(f.Skip, 0), 0), nil
}

// eachActivation calls visit for each activation in namespace that matches
// f's name and bounds, newest first, until visit returns false. visit gets
// the namespace's start index, the activation's key in it, and its record
// when the walk is on that index (nil on a name's index).
func eachActivation(tx *bolt.Tx, namespace string, f ActivationFilter, visit func(byStart *bolt.Bucket, key, doc []byte) (bool, error)) error {
	if f.Since > 0 && f.Upto > 0 && f.Since > f.Upto {
		return nil
	}
	nsb := tx.Bucket(bucketActivations).Bucket([]byte(namespace))
	if nsb == nil {
		return nil
	}
	byStart, _, byName, err := subBuckets(nsb, false)
	if err != nil {
		return err
	}
	index, prefix := byStart, []byte(nil)
	if f.Name != "" {
		index, prefix = byName, namePrefix(f.Name)
	}
	seek := prefix
	if f.Upto > 0 {
		seek = append(append([]byte(nil), prefix...), invStart(f.Upto)...)
	}
	c := index.Cursor()
	for k, v := c.Seek(seek); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		key := k[len(prefix):]
		if len(key) < 8 {
			return fmt.Errorf("malformed index key %q", k)
		}
		if start := int64(^binary.BigEndian.Uint64(key[:8])); start < f.Since {
			return nil
		}
		if f.Name != "" {
			v = nil
		}
		more, err := visit(byStart, key, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// subBuckets returns the three index buckets of one namespace, creating them
// when create is set.
func subBuckets(nsb *bolt.Bucket, create bool) (byStart, byID, byName *bolt.Bucket, err error) {
	get := func(name []byte) (*bolt.Bucket, error) {
		if create {
			return nsb.CreateBucketIfNotExists(name)
		}
		if b := nsb.Bucket(name); b != nil {
			return b, nil
		}
		return nil, fmt.Errorf("namespace bucket without %s index", name)
	}
	if byStart, err = get(bucketByStart); err != nil {
		return
	}
	if byID, err = get(bucketByID); err != nil {
		return
	}
	byName, err = get(bucketByName)
	return
}

// invStart is the 8-byte key part that sorts later starts first.
func invStart(start int64) []byte {
	return binary.BigEndian.AppendUint64(nil, ^uint64(start))
}

func startKey(start int64, id []byte) []byte {
	return append(invStart(start), id...)
}

// namePrefix is the length-prefixed name, so that no name is a prefix of another's entries.
func namePrefix(name string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(name))), name...)
}

func nameKey(name string, start int64, id []byte) []byte {
	return append(append(namePrefix(name), invStart(start)...), id...)
}

func idEntry(start int64, name string) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(start)), name...)
}

func decodeIDEntry(v []byte) (int64, string, error) {
	if len(v) < 8 {
		return 0, "", errors.New("malformed id index entry")
	}
	return int64(binary.BigEndian.Uint64(v[:8])), string(v[8:]), nil
}

func decodeActivation(doc []byte, a *entity.Activation) error {
	if err := json.Unmarshal(doc, a); err != nil {
		return fmt.Errorf("decode activation: %w", err)
	}
	return nil
}
