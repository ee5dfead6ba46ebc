package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

const (
	kindTrigger = "trigger"
	kindRule    = "rule"
)

func entityKey(namespace, name string) ([]byte, error) {
	for _, s := range []string{namespace, name} {
		if err := entity.ValidateName(s); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return []byte(namespace + "/" + name), nil
}

// PutTrigger writes t, with PutAction's rules for overwrite, version and
// update time. Its Rules are not stored: ListRules has them.
func (s *Store) PutTrigger(t entity.Trigger, overwrite bool) (entity.Trigger, error) {
	key, err := entityKey(t.Namespace, t.Name)
	if err != nil {
		return entity.Trigger{}, err
	}
	t.Rules = nil
	err = putDoc(s, bucketTriggers, kindTrigger, key, stamped{&t, t.Version, func(v string, u int64) { t.Version, t.Updated = v, u }}, overwrite, nil)
	if err != nil {
		return entity.Trigger{}, err
	}
	return t, nil
}

// GetTrigger returns the trigger at namespace/name, or ErrNotFound.
func (s *Store) GetTrigger(namespace, name string) (entity.Trigger, error) {
	return named(s, bucketTriggers, kindTrigger, namespace, name, getDoc[entity.Trigger])
}

// named runs op (getDoc, or deleteDoc without checks) on the document
// namespace/name of bucket; a bad name is ErrNotFound.
func named[T any](s *Store, bucket []byte, kind, namespace, name string, op func(*Store, []byte, string, []byte) (T, error)) (T, error) {
	key, err := entityKey(namespace, name)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return op(s, bucket, kind, key)
}

// deleteUnchecked is deleteDoc without checks, in named's shape.
func deleteUnchecked[T any](s *Store, bucket []byte, kind string, key []byte) (T, error) {
	return deleteDoc[T](s, bucket, kind, key, nil, nil)
}

// DeleteTrigger removes the trigger and returns it, or ErrNotFound. Rules
// naming it stay, as in OpenWhisk, and fire nothing.
func (s *Store) DeleteTrigger(namespace, name string) (entity.Trigger, error) {
	return named(s, bucketTriggers, kindTrigger, namespace, name, deleteUnchecked[entity.Trigger])
}

// CountTriggers returns how many triggers ListTriggers lists.
func (s *Store) CountTriggers(namespace string) (int, error) {
	return countDocs(s, bucketTriggers, []byte(namespace+"/"))
}

// CountRules returns how many rules ListRules lists.
func (s *Store) CountRules(namespace string) (int, error) {
	return countDocs(s, bucketRules, []byte(namespace+"/"))
}

// ListTriggers returns the namespace's triggers, most recently updated first.
func (s *Store) ListTriggers(namespace string, limit, skip int) ([]entity.Trigger, error) {
	return listDocs(s, bucketTriggers, kindTrigger, []byte(namespace+"/"), limit, skip, func(t entity.Trigger) (int64, string) { return t.Updated, t.Path() })
}

// PutRule writes r. Its trigger must exist (ErrNotFound otherwise), checked
// in the same transaction.
func (s *Store) PutRule(r entity.Rule, overwrite bool) (entity.Rule, error) {
	key, err := entityKey(r.Namespace, r.Name)
	if err != nil {
		return entity.Rule{}, err
	}
	check := func(tx *bolt.Tx) error {
		if tx.Bucket(bucketTriggers).Get([]byte(r.Trigger.FullPath())) == nil {
			return fmt.Errorf("%w: trigger /%s of rule %s", ErrNotFound, r.Trigger.FullPath(), r.Name)
		}
		return nil
	}
	err = putDoc(s, bucketRules, kindRule, key, stamped{&r, r.Version, func(v string, u int64) { r.Version, r.Updated = v, u }}, overwrite, check)
	if err != nil {
		return entity.Rule{}, err
	}
	return r, nil
}

// GetRule returns the rule at namespace/name, or ErrNotFound.
func (s *Store) GetRule(namespace, name string) (entity.Rule, error) {
	return named(s, bucketRules, kindRule, namespace, name, getDoc[entity.Rule])
}

// DeleteRule removes the rule and returns it, or ErrNotFound.
func (s *Store) DeleteRule(namespace, name string) (entity.Rule, error) {
	return named(s, bucketRules, kindRule, namespace, name, deleteUnchecked[entity.Rule])
}

// ListRules returns the namespace's rules, most recently updated first.
func (s *Store) ListRules(namespace string, limit, skip int) ([]entity.Rule, error) {
	return listDocs(s, bucketRules, kindRule, []byte(namespace+"/"), limit, skip, func(r entity.Rule) (int64, string) { return r.Updated, r.Path() })
}

// TriggerRules returns every rule of namespace that names the trigger
// ns/name, active or not.
func (s *Store) TriggerRules(namespace, trigger string) ([]entity.Rule, error) {
	all, err := listDocs(s, bucketRules, kindRule, []byte(namespace+"/"), MaxListLimit, 0, func(r entity.Rule) (int64, string) { return r.Updated, r.Path() })
	if err != nil {
		return nil, err
	}
	out := []entity.Rule{}
	for _, r := range all {
		if r.Trigger.FullPath() == namespace+"/"+trigger {
			out = append(out, r)
		}
	}
	return out, nil
}
