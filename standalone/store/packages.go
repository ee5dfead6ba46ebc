package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// packageDoc is a package as putDoc and listDocs handle it.
type packageDoc struct{ entity.Package }

func (d *packageDoc) stamp(v string, u int64) { d.Version, d.Updated = v, u }
func (d *packageDoc) version() string         { return d.Version }
func (d *packageDoc) path() string            { return d.Path() }
func (d *packageDoc) updated() int64          { return d.Updated }

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
				return fmt.Errorf("%w: Resource is a package and cannot be converted into a binding.", ErrConflict)
			}
		}
		if !p.IsBinding() {
			return nil
		}
		target := b.Get([]byte(p.Binding.Path()))
		if target == nil {
			return fmt.Errorf("%w: Binding references a package that does not exist.", ErrBadBinding)
		}
		var bound entity.Package
		if err := decodeDoc(kindPackage, []byte(p.Binding.Path()), target, &bound); err != nil {
			return err
		}
		if bound.IsBinding() {
			return fmt.Errorf("%w: Cannot bind to another package binding.", ErrBadBinding)
		}
		return nil
	}
	d, err := putDoc(s, bucketPackages, kindPackage, key, &packageDoc{p}, overwrite, check)
	if err != nil {
		return entity.Package{}, err
	}
	return d.Package, nil
}

// GetPackage returns the package at namespace/name, or ErrNotFound.
func (s *Store) GetPackage(namespace, name string) (entity.Package, error) {
	key, err := packageKey(namespace, name)
	if err != nil {
		return entity.Package{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	d, err := getDoc[packageDoc](s, bucketPackages, kindPackage, key)
	return d.Package, err
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
	d, err := deleteDoc(s, bucketPackages, kindPackage, key, func(tx *bolt.Tx, p packageDoc) error {
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
			return fmt.Errorf("%w: Package not empty (contains %d %s). Set force param or delete package contents.", ErrConflict, len(inside), what)
		}
		for _, k := range inside {
			if err := tx.Bucket(bucketActions).Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	return d.Package, err
}

// ListPackages returns the packages and bindings of namespace, most recently
// updated first, with ListActions' limit and skip.
func (s *Store) ListPackages(namespace string, limit, skip int) ([]entity.Package, error) {
	docs, err := listDocs[*packageDoc](s, bucketPackages, kindPackage, []byte(namespace+"/"), limit, skip, nil)
	if err != nil {
		return nil, err
	}
	out := make([]entity.Package, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.Package)
	}
	return out, nil
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
		return fmt.Errorf("%w: Operation not permitted on package binding.", ErrBinding)
	}
	return nil
}
