package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// The controller's messages, verbatim: wsk prints them.
const (
	msgNotBinding       = "Resource is a package and cannot be converted into a binding."
	msgBindingMissing   = "Binding references a package that does not exist."
	msgBindingOfBinding = "Cannot bind to another package binding."
	msgOnBinding        = "Operation not permitted on package binding."
)

const kindPackage = "package"

func packageKey(namespace, name string) ([]byte, error) {
	if err := entity.ValidatePackagePath(namespace, name); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return []byte(namespace + "/" + name), nil
}

// PutPackage writes p at p.Namespace/p.Name, with PutAction's rules for
// overwrite, version and update time. A binding must name an existing
// package that is not itself a binding (ErrBadBinding), checked in the same
// transaction; a package cannot become a binding (ErrConflict).
func (s *Store) PutPackage(p entity.Package, overwrite bool) (entity.Package, error) {
	key, err := packageKey(p.Namespace, p.Name)
	if err != nil {
		return entity.Package{}, err
	}
	check := func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPackages)
		if old := b.Get(key); old != nil && overwrite && p.IsBinding() {
			var prev entity.Package
			if err := decodeDoc(kindPackage, key, old, &prev); err != nil {
				return err
			}
			if !prev.IsBinding() {
				return fmt.Errorf("%w: %s", ErrConflict, msgNotBinding)
			}
		}
		if !p.IsBinding() {
			return nil
		}
		target := b.Get([]byte(p.Binding.Path()))
		if target == nil {
			return fmt.Errorf("%w: %s", ErrBadBinding, msgBindingMissing)
		}
		var bound entity.Package
		if err := decodeDoc(kindPackage, []byte(p.Binding.Path()), target, &bound); err != nil {
			return err
		}
		if bound.IsBinding() {
			return fmt.Errorf("%w: %s", ErrBadBinding, msgBindingOfBinding)
		}
		return nil
	}
	err = putDoc(s, bucketPackages, kindPackage, key, stamped{&p, p.Version, func(v string, u int64) { p.Version, p.Updated = v, u }}, overwrite, check)
	if err != nil {
		return entity.Package{}, err
	}
	return p, nil
}

// GetPackage returns the package at namespace/name, or ErrNotFound.
func (s *Store) GetPackage(namespace, name string) (entity.Package, error) {
	key, err := packageKey(namespace, name)
	if err != nil {
		return entity.Package{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return getDoc[entity.Package](s, bucketPackages, kindPackage, key)
}

// DeletePackage removes the package at namespace/name and returns it, or
// ErrNotFound. A package that still holds actions is refused with
// ErrConflict, as the controller does, unless force is set: then its actions
// go with it. A binding holds no actions.
func (s *Store) DeletePackage(namespace, name string, force bool) (entity.Package, error) {
	key, err := packageKey(namespace, name)
	if err != nil {
		return entity.Package{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return deleteDoc(s, bucketPackages, kindPackage, key, nil, func(tx *bolt.Tx, p entity.Package) error {
		if p.IsBinding() {
			return nil
		}
		prefix := append(append([]byte(nil), key...), '/')
		var inside [][]byte
		c := tx.Bucket(bucketActions).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			inside = append(inside, append([]byte(nil), k...))
		}
		switch {
		case len(inside) == 0:
			return nil
		case !force:
			what := "entities"
			if len(inside) == 1 {
				what = "entity"
			}
			return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf("Package not empty (contains %d %s). Set force param or delete package contents.", len(inside), what))
		}
		for _, k := range inside {
			if err := tx.Bucket(bucketActions).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountPackages returns how many packages and bindings ListPackages lists.
func (s *Store) CountPackages(namespace string) (int, error) {
	return countDocs(s, bucketPackages, []byte(namespace+"/"))
}

// ListPackages returns the packages and bindings of namespace, most recently
// updated first, with ListActions' limit and skip.
func (s *Store) ListPackages(namespace string, limit, skip int) ([]entity.Package, error) {
	return listDocs(s, bucketPackages, kindPackage, []byte(namespace+"/"), limit, skip, func(p entity.Package) (int64, string) { return p.Updated, p.Path() })
}

// actionPackageWritable checks, inside tx, that the package "ns/pkg" exists
// and is not a binding, so that an action may be written or deleted in it.
func actionPackageWritable(tx *bolt.Tx, pkgPath string) error {
	raw := tx.Bucket(bucketPackages).Get([]byte(pkgPath))
	if raw == nil {
		return fmt.Errorf("%w: package /%s; create it first with `wsk package create`", ErrNotFound, pkgPath)
	}
	var p entity.Package
	if err := decodeDoc(kindPackage, []byte(pkgPath), raw, &p); err != nil {
		return err
	}
	if p.IsBinding() {
		return fmt.Errorf("%w: %s", ErrBinding, msgOnBinding)
	}
	return nil
}
