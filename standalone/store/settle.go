package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

func pendingKey(namespace string, id []byte) []byte {
	return append(append([]byte(namespace), 0), id...)
}

// SettlePending marks every record still pending (stored with
// PutPendingActivation and never stored again) as failed, with reason
// among its post-response errors, and returns how many it settled. It is
// for start-up: a crashed or killed server left those activations open,
// and their containers died with it, so their work will never report.
func (s *Store) SettlePending(reason string) (int, error) {
	settled := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		pending := tx.Bucket(bucketPending)
		var keys [][]byte
		if err := pending.ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := pending.Delete(k); err != nil {
				return err
			}
			ns, id, ok := bytes.Cut(k, []byte{0})
			if !ok {
				continue // not a key this build writes; dropping it loses nothing
			}
			nsb := tx.Bucket(bucketActivations).Bucket(ns)
			if nsb == nil {
				continue
			}
			byStart, byID, _, err := subBuckets(nsb, false)
			if err != nil {
				return err
			}
			entry := byID.Get(id)
			if entry == nil {
				continue // pruned or never stored
			}
			start, _, err := decodeIDEntry(entry)
			if err != nil {
				return fmt.Errorf("activation %s: %w", id, err)
			}
			doc := byStart.Get(startKey(start, id))
			var a entity.Activation
			if err := decodeActivation(doc, &a); err != nil {
				return err
			}
			if _, done := a.Annotations.Get(entity.AnnotationCompletion); done {
				continue
			}
			_ = a.Annotations.SetJSON(entity.AnnotationCompletion, entity.CompletionFailed)
			var errs []string
			if v, ok := a.Annotations.Get(entity.AnnotationPostResponseErrors); ok {
				_ = json.Unmarshal(v, &errs)
			}
			_ = a.Annotations.SetJSON(entity.AnnotationPostResponseErrors, append(errs, reason))
			out, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("store: encode activation %s: %w", id, err)
			}
			if err := byStart.Put(startKey(start, id), out); err != nil {
				return err
			}
			settled++
		}
		return nil
	})
	return settled, s.wrapTx(err)
}
