package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// stamped is a document as putDoc writes it: doc (a pointer) is marshalled
// after stamp has set its version and update time, which the store decides
// as the controller does; version is the one the caller gave, if any.
type stamped struct {
	doc     any
	version string
	stamp   func(version string, updated int64)
}

// putDoc writes d at key in bucket. Without overwrite an existing document
// gives ErrExists. A document without a version gets entity.InitialVersion
// when new and the old version with its patch bumped when it replaces one;
// updated is now. check, when set, runs inside the transaction first: it may
// refuse the write, or write beside it (both or neither are stored).
func putDoc(s *Store, bucket []byte, kind string, key []byte, d stamped, overwrite bool, check func(*bolt.Tx) error) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		b := tx.Bucket(bucket)
		old := b.Get(key)
		v := d.version
		switch {
		case old != nil && !overwrite:
			return fmt.Errorf("%w: %s /%s; update it with `wsk %s update` (PUT ?overwrite=true) or delete it first", ErrExists, kind, key, kind)
		case v != "":
		case old == nil:
			v = entity.InitialVersion
		default:
			var prev struct {
				Version string `json:"version"`
			}
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("decode %s /%s: %w", kind, key, err)
			}
			v = entity.NextVersion(prev.Version)
		}
		d.stamp(v, s.now().UnixMilli())
		raw, err := json.Marshal(d.doc)
		if err != nil {
			return fmt.Errorf("encode %s /%s: %w", kind, key, err)
		}
		return b.Put(key, raw)
	})
	return s.wrapTx(err)
}

// getDoc reads the document at key, or answers ErrNotFound naming kind.
func getDoc[T any](s *Store, bucket []byte, kind string, key []byte) (T, error) {
	var out T
	err := s.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucket).Get(key)
		if raw == nil {
			return notFound(kind, key)
		}
		return decodeDoc(kind, key, raw, &out)
	})
	return out, s.wrapTx(err)
}

// deleteDoc removes the document at key and returns it. before, when set,
// runs first inside the transaction, and check sees the document; either
// may refuse.
func deleteDoc[T any](s *Store, bucket []byte, kind string, key []byte, before func(*bolt.Tx) error, check func(*bolt.Tx, T) error) (T, error) {
	var out T
	err := s.db.Update(func(tx *bolt.Tx) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		b := tx.Bucket(bucket)
		raw := b.Get(key)
		if raw == nil {
			return notFound(kind, key)
		}
		if err := decodeDoc(kind, key, raw, &out); err != nil {
			return err
		}
		if check != nil {
			if err := check(tx, out); err != nil {
				return err
			}
		}
		return b.Delete(key)
	})
	if err != nil {
		var zero T
		return zero, s.wrapTx(err)
	}
	return out, nil
}

// countDocs returns how many documents of bucket listDocs would list under
// prefix, limit and skip aside; it reads keys only.
func countDocs(s *Store, bucket, prefix []byte) (int, error) {
	n := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, s.wrapTx(err)
}

// listDocs returns the documents whose key starts with prefix, most
// recently updated first (ties by path), limit and skip applied as
// listBounds says; order gives a document's update time and path.
func listDocs[T any](s *Store, bucket []byte, kind string, prefix []byte, limit, skip int, order func(T) (int64, string)) ([]T, error) {
	limit, skip = listBounds(limit, skip)
	var all []T
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var d T
			if err := decodeDoc(kind, k, v, &d); err != nil {
				return err
			}
			all = append(all, d)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrapTx(err)
	}
	sort.SliceStable(all, func(i, j int) bool {
		ui, pi := order(all[i])
		uj, pj := order(all[j])
		if ui != uj {
			return ui > uj
		}
		return pi < pj
	})
	if skip >= len(all) {
		return []T{}, nil
	}
	all = all[skip:]
	return all[:min(limit, len(all))], nil
}

func notFound(kind string, key []byte) error {
	return fmt.Errorf("%w: %s /%s; check the name with `wsk %s list`", ErrNotFound, kind, key, kind)
}

func decodeDoc(kind string, key, raw []byte, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s /%s: %w", kind, key, err)
	}
	return nil
}
