package store

import (
	"bytes"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

const kindAction = "action"

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
//
// An action in a package (namespace/pkg/act) needs the package, and the
// package must not be a binding: otherwise ErrNotFound or ErrBinding, checked
// in the same transaction as the write, so that a package deleted meanwhile
// cannot be left with an action.
func (s *Store) PutAction(a entity.Action, overwrite bool) (entity.Action, error) {
	key, ns, name, err := actionKey(a.Namespace, a.Name)
	if err != nil {
		return entity.Action{}, err
	}
	a.Namespace, a.Name = ns, name
	// The code goes to its own bucket, in the same transaction: an invoke
	// reads the document without decoding megabytes of base64, and a
	// container's /init reads the code once (GetActionCode).
	code := a.Exec.Code
	a.Exec.Code = ""
	inPkg := inPackage(ns)
	writeCode := func(tx *bolt.Tx) error {
		if inPkg != nil {
			if err := inPkg(tx); err != nil {
				return err
			}
		}
		if code == "" {
			return tx.Bucket(bucketCode).Delete(key)
		}
		return tx.Bucket(bucketCode).Put(key, []byte(code))
	}
	err = putDoc(s, bucketActions, kindAction, key, stamped{&a, a.Version, func(v string, u int64) { a.Version, a.Updated = v, u }}, overwrite, writeCode)
	if err != nil {
		return entity.Action{}, err
	}
	a.Exec.Code = code
	return a, nil
}

// inPackage returns the check a write of an action in namespace ns needs:
// none in a namespace's default package, else that its package is writable.
func inPackage(ns string) func(*bolt.Tx) error {
	if !strings.Contains(ns, "/") {
		return nil
	}
	return func(tx *bolt.Tx) error { return actionPackageWritable(tx, ns) }
}

// GetAction returns the action at namespace/name, or ErrNotFound.
func (s *Store) GetAction(namespace, name string) (entity.Action, error) {
	key, _, _, err := actionKey(namespace, name)
	if err != nil {
		return entity.Action{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var a entity.Action
	err = s.db.View(func(tx *bolt.Tx) error {
		if a, err = actionInTx(tx, key); err != nil {
			return err
		}
		if code := tx.Bucket(bucketCode).Get(key); code != nil {
			a.Exec.Code = string(code)
		}
		return nil
	})
	return a, s.wrapTx(err)
}

// GetActionHeader is GetAction without Exec.Code, which stays in the store
// until a container needs it (GetActionCode): what an invoke reads.
func (s *Store) GetActionHeader(namespace, name string) (entity.Action, error) {
	key, _, _, err := actionKey(namespace, name)
	if err != nil {
		return entity.Action{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return getDoc[entity.Action](s, bucketActions, kindAction, key)
}

// GetActionCode returns the Exec.Code of the action at namespace/name as
// it was at updated (the Updated of the header an activation was accepted
// with), or ErrStale when the action changed since, or ErrNotFound.
func (s *Store) GetActionCode(namespace, name string, updated int64) (string, error) {
	key, _, _, err := actionKey(namespace, name)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var code string
	err = s.db.View(func(tx *bolt.Tx) error {
		a, err := actionInTx(tx, key)
		if err != nil {
			return err
		}
		if a.Updated != updated {
			return fmt.Errorf("%w: action /%s was updated after this activation was accepted; invoke it again", ErrStale, key)
		}
		code = a.Exec.Code // a document stored inline by an earlier build
		if c := tx.Bucket(bucketCode).Get(key); c != nil {
			code = string(c)
		}
		return nil
	})
	return code, s.wrapTx(err)
}

func actionInTx(tx *bolt.Tx, key []byte) (entity.Action, error) {
	var a entity.Action
	raw := tx.Bucket(bucketActions).Get(key)
	if raw == nil {
		return a, notFound(kindAction, key)
	}
	return a, decodeDoc(kindAction, key, raw, &a)
}

// DeleteAction removes the action at namespace/name and returns it, or
// ErrNotFound. An action in a binding gives ErrBinding: a binding has no
// actions of its own.
func (s *Store) DeleteAction(namespace, name string) (entity.Action, error) {
	key, ns, _, err := actionKey(namespace, name)
	if err != nil {
		return entity.Action{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var code []byte
	dropCode := func(tx *bolt.Tx, _ entity.Action) error {
		code = bytes.Clone(tx.Bucket(bucketCode).Get(key))
		return tx.Bucket(bucketCode).Delete(key)
	}
	a, err := deleteDoc[entity.Action](s, bucketActions, kindAction, key, inPackage(ns), dropCode)
	if code != nil {
		a.Exec.Code = string(code)
	}
	return a, err
}

// CountActions returns how many actions ListActions lists under namespace
// ("guest", or "guest/pkg"), limit and skip aside.
func (s *Store) CountActions(namespace string) (int, error) {
	return countDocs(s, bucketActions, []byte(namespace+"/"))
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
	docs, err := listDocs(s, bucketActions, kindAction, []byte(namespace+"/"), limit, skip, func(a entity.Action) (int64, string) { return a.Updated, a.Path() })
	if err != nil {
		return nil, err
	}
	out := make([]entity.Action, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.WithoutCode())
	}
	return out, nil
}
