package store

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention bounds the activation records kept per namespace. Zero fields
// do not bound.
type Retention struct {
	// MaxPerNamespace keeps at most this many records per namespace, the
	// newest.
	MaxPerNamespace int
	// MaxAge drops records that started longer ago than this.
	MaxAge time.Duration
}

// pruneBatch bounds one transaction's deletions, so that pruning a large
// backlog never holds the database's single writer for long.
const pruneBatch = 1000

// Prune deletes the activation records that r does not keep, oldest first,
// with their index entries, and returns how many it deleted.
func (s *Store) Prune(r Retention) (int, error) {
	if r.MaxPerNamespace <= 0 && r.MaxAge <= 0 {
		return 0, nil
	}
	var cutoff []byte // start keys at or past it are older than MaxAge
	if r.MaxAge > 0 {
		cutoff = invStart(s.now().Add(-r.MaxAge).UnixMilli() - 1)
	}
	var namespaces [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketActivations).ForEachBucket(func(k []byte) error {
			namespaces = append(namespaces, bytes.Clone(k))
			return nil
		})
	})
	if err != nil {
		return 0, s.wrapTx(err)
	}
	total := 0
	for _, ns := range namespaces {
		for {
			n, err := s.pruneNamespace(ns, r.MaxPerNamespace, cutoff)
			total += n
			if err != nil {
				return total, s.wrapTx(err)
			}
			if n < pruneBatch {
				break
			}
		}
	}
	return total, nil
}

// pruneNamespace deletes up to pruneBatch records of ns beyond the newest
// keep (0: no count bound) or at or past cutoff (nil: no age bound).
func (s *Store) pruneNamespace(ns []byte, keep int, cutoff []byte) (int, error) {
	deleted := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		nsb := tx.Bucket(bucketActivations).Bucket(ns)
		if nsb == nil {
			return nil
		}
		byStart, byID, byName, err := subBuckets(nsb, false)
		if err != nil {
			return err
		}
		// Walk newest first; collect the victims, then delete (a cursor
		// must not delete under itself).
		var victims [][]byte
		seen := 0
		c := byStart.Cursor()
		for k, _ := c.First(); k != nil && len(victims) < pruneBatch; k, _ = c.Next() {
			seen++
			if (keep > 0 && seen > keep) || (cutoff != nil && bytes.Compare(k, cutoff) >= 0) {
				victims = append(victims, bytes.Clone(k))
			}
		}
		pending := tx.Bucket(bucketPending)
		for _, k := range victims {
			id := k[8:]
			if entry := byID.Get(id); entry != nil {
				start, name, err := decodeIDEntry(entry)
				if err != nil {
					return err
				}
				if err := byName.Delete(nameKey(name, start, id)); err != nil {
					return err
				}
				if err := byID.Delete(id); err != nil {
					return err
				}
			}
			if err := pending.Delete(pendingKey(string(ns), id)); err != nil {
				return err
			}
			if err := byStart.Delete(k); err != nil {
				return err
			}
		}
		deleted = len(victims)
		return nil
	})
	return deleted, err
}
