package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// actionKey returns the key of namespace/name and the action's namespace and
// name in the controller's form ("guest", "pkg/act" → "guest/pkg", "act").
func actionKey(namespace, name string) ([]byte, string, string, error) {
	ns, n, err := entity.SplitPath(namespace, name)
	if err != nil {
		return nil, "", "", fmt.Errorf("store: %w", err)
	}
	return []byte(ns + "/" + n), ns, n, nil
}

// PutAction writes a at a.Namespace/a.Name (a name may carry a package).
// Without overwrite an existing action gives ErrExists. Version is kept when
// a carries one; otherwise it is entity.InitialVersion for a new action and
// the old version with its patch bumped for a replaced one, as the
// controller does. Updated is set to now. The merge of a PUT body with the
// old action is the caller's (entity.ActionPut.Update); PutAction replaces.
func (s *Store) PutAction(a entity.Action, overwrite bool) (entity.Action, error) {
	key, ns, name, err := actionKey(a.Namespace, a.Name)
	if err != nil {
		return entity.Action{}, err
	}
	a.Namespace, a.Name = ns, name
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketActions)
		old := b.Get(key)
		switch {
		case old != nil && !overwrite:
			return fmt.Errorf("%w: action /%s; update it with `wsk action update` (PUT ?overwrite=true) or delete it first", ErrExists, key)
		case a.Version != "":
		case old == nil:
			a.Version = entity.InitialVersion
		default:
			var prev entity.Action
			if err := json.Unmarshal(old, &prev); err != nil {
				return fmt.Errorf("decode action /%s: %w", key, err)
			}
			a.Version = entity.NextVersion(prev.Version)
		}
		a.Updated = s.now().UnixMilli()
		doc, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("encode action /%s: %w", key, err)
		}
		return b.Put(key, doc)
	})
	if err != nil {
		return entity.Action{}, s.wrapTx(err)
	}
	return a, nil
}

// GetAction returns the action at namespace/name, or ErrNotFound.
func (s *Store) GetAction(namespace, name string) (entity.Action, error) {
	key, _, _, err := actionKey(namespace, name)
	if err != nil {
		return entity.Action{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var a entity.Action
	err = s.db.View(func(tx *bolt.Tx) error {
		doc := tx.Bucket(bucketActions).Get(key)
		if doc == nil {
			return notFoundAction(key)
		}
		return decodeAction(key, doc, &a)
	})
	return a, s.wrapTx(err)
}

// DeleteAction removes the action at namespace/name and returns it, or
// ErrNotFound.
func (s *Store) DeleteAction(namespace, name string) (entity.Action, error) {
	key, _, _, err := actionKey(namespace, name)
	if err != nil {
		return entity.Action{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var a entity.Action
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketActions)
		doc := b.Get(key)
		if doc == nil {
			return notFoundAction(key)
		}
		if err := decodeAction(key, doc, &a); err != nil {
			return err
		}
		return b.Delete(key)
	})
	if err != nil {
		return entity.Action{}, s.wrapTx(err)
	}
	return a, nil
}

// ListActions returns the actions under namespace, most recently updated
// first (ties by name), as the controller's list: namespace "guest" lists
// every action of the namespace, packaged ones included, and "guest/pkg" the
// actions of one package. limit ≤ 0 means DefaultListLimit; it is capped at
// MaxListLimit. Listed actions carry no Exec.Code (GetAction has it).
//
// The namespace's actions are read and sorted on each call: their number is
// small next to activations, and updates would otherwise have to move index
// entries.
func (s *Store) ListActions(namespace string, limit, skip int) ([]entity.Action, error) {
	limit, skip = listBounds(limit, skip)
	prefix := []byte(namespace + "/")
	var all []entity.Action
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketActions).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var a entity.Action
			if err := decodeAction(k, v, &a); err != nil {
				return err
			}
			all = append(all, a.WithoutCode())
		}
		return nil
	})
	if err != nil {
		return nil, s.wrapTx(err)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Updated != all[j].Updated {
			return all[i].Updated > all[j].Updated
		}
		return all[i].Path() < all[j].Path()
	})
	if skip >= len(all) {
		return []entity.Action{}, nil
	}
	all = all[skip:]
	return all[:min(limit, len(all))], nil
}

func notFoundAction(key []byte) error {
	return fmt.Errorf("%w: action /%s; check the name with `wsk action list`", ErrNotFound, key)
}

func decodeAction(key, doc []byte, a *entity.Action) error {
	if err := json.Unmarshal(doc, a); err != nil {
		return fmt.Errorf("decode action /%s: %w", key, err)
	}
	return nil
}
