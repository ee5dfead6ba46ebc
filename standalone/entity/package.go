package entity

import (
	"encoding/json"
	"fmt"
)

// ReservedPackageName is the one package name the controller refuses.
const ReservedPackageName = "default"

// AnnotationPackageBinding is the annotation the controller puts on a
// binding, naming the bound package ({"namespace":…,"name":…}).
const AnnotationPackageBinding = "binding"

// Binding names the package a binding refers to. The zero value is "no
// binding" and marshals as {}, as the controller writes it.
type Binding struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// IsZero reports whether b names no package.
func (b Binding) IsZero() bool { return b == Binding{} }

// Path is the bound package's path, "ns/pkg".
func (b Binding) Path() string { return b.Namespace + "/" + b.Name }

// Package is OpenWhisk's package document (WhiskPackage): a named set of
// actions with parameters they inherit, or a binding of another package with
// parameters of its own.
type Package struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Version     string    `json:"version,omitempty"`
	Publish     bool      `json:"publish"`
	Annotations KeyValues `json:"annotations"`
	Parameters  KeyValues `json:"parameters"`
	Binding     Binding   `json:"binding"`
	// Updated is the time of the last create or update, epoch milliseconds.
	Updated int64 `json:"updated"`
}

// Path is "ns/pkg"; the actions of a (non-binding) package live under it.
func (p Package) Path() string { return p.Namespace + "/" + p.Name }

// IsBinding reports whether p is a binding of another package.
func (p Package) IsBinding() bool { return !p.Binding.IsZero() }

// PackageAction is one entry of a package's "actions" in GET /packages/NAME.
type PackageAction struct {
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Annotations KeyValues `json:"annotations"`
}

// PackageWithActions is GET /packages/NAME's answer: the package (for a
// binding, the bound package's parameters under the binding's) and the
// actions in it.
type PackageWithActions struct {
	Package
	Actions []PackageAction `json:"actions"`
	Feeds   []PackageAction `json:"feeds"`
}

// WithActions returns p with actions listed as the controller does
// (actions annotated "feed" are listed as feeds).
func (p Package) WithActions(actions []Action) PackageWithActions {
	out := PackageWithActions{Package: p, Actions: []PackageAction{}, Feeds: []PackageAction{}}
	for _, a := range actions {
		pa := PackageAction{Name: a.Name, Version: a.Version, Annotations: a.Annotations}
		if _, feed := a.Annotations.Get("feed"); feed {
			out.Feeds = append(out.Feeds, pa)
		} else {
			out.Actions = append(out.Actions, pa)
		}
	}
	return out
}

// PackageSummary is one element of GET /packages: binding is false for a
// package, the bound package's name for a binding.
type PackageSummary struct {
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Publish     bool      `json:"publish"`
	Annotations KeyValues `json:"annotations"`
	Binding     any       `json:"binding"`
	Updated     int64     `json:"updated"`
}

// Summary returns the list view of p.
func (p Package) Summary() PackageSummary {
	s := PackageSummary{Namespace: p.Namespace, Name: p.Name, Version: p.Version, Publish: p.Publish,
		Annotations: p.Annotations, Binding: false, Updated: p.Updated}
	if p.IsBinding() {
		s.Binding = p.Binding
	}
	return s
}

// PackagePut is a decoded PUT /packages/NAME body (WhiskPackagePut); nil
// fields were absent. "name" and "namespace" in the body are ignored.
type PackagePut struct {
	Binding     *Binding
	Parameters  *KeyValues
	Annotations *KeyValues
	Version     string
	Publish     *bool
}

type packagePutJSON struct {
	Binding     *Binding        `json:"binding"`
	Parameters  json.RawMessage `json:"parameters"`
	Annotations json.RawMessage `json:"annotations"`
	Version     *string         `json:"version"`
	Publish     *bool           `json:"publish"`
}

// DecodePackagePut decodes and checks a PUT body. An empty body is an empty
// package. A binding {} means none, as in OpenWhisk. Every error wraps
// ErrInvalid.
func DecodePackagePut(body []byte) (PackagePut, error) {
	var in packagePutJSON
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return PackagePut{}, fmt.Errorf("%w: the package body is not a valid package document: %s; send a JSON object such as {\"parameters\":[{\"key\":\"k\",\"value\":1}]} or, for a binding, {\"binding\":{\"namespace\":\"_\",\"name\":\"pkg\"}}", ErrInvalid, unwrapInvalid(err))
		}
	}
	put := PackagePut{Publish: in.Publish}
	if in.Binding != nil && !in.Binding.IsZero() {
		b := *in.Binding
		for _, s := range []string{b.Namespace, b.Name} {
			if err := ValidateName(s); err != nil {
				return PackagePut{}, fmt.Errorf("%w: binding: %s", ErrInvalid, unwrapInvalid(err))
			}
		}
		put.Binding = &b
	}
	var err error
	if put.Parameters, put.Annotations, put.Version, err = decodeShared(in.Parameters, in.Annotations, in.Version); err != nil {
		return PackagePut{}, err
	}
	return put, nil
}

// ValidatePackagePath checks a package's namespace and name.
func ValidatePackagePath(namespace, name string) error {
	if err := ValidateName(namespace); err != nil {
		return err
	}
	if err := ValidateName(name); err != nil {
		return err
	}
	if name == ReservedPackageName {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf("Package name '%s' is reserved.", name))
	}
	return nil
}

// Create returns the new package namespace/name. A binding's namespace must
// already be resolved (no "_").
func (p PackagePut) Create(namespace, name string) (Package, error) {
	if err := ValidatePackagePath(namespace, name); err != nil {
		return Package{}, err
	}
	pkg := Package{Namespace: namespace, Name: name, Version: p.Version}
	if p.Binding != nil {
		pkg.Binding = *p.Binding
	}
	return p.apply(pkg), nil
}

// Update returns old changed by the fields present in p, as the controller
// merges PUT ?overwrite=true. Version is p's, or empty so that the store
// bumps the patch.
func (p PackagePut) Update(old Package) Package {
	old.Version = p.Version
	if p.Binding != nil {
		old.Binding = *p.Binding
	}
	return p.apply(old)
}

// apply sets the fields present in p and the controller's binding
// annotation, which a PUT body cannot set itself.
func (p PackagePut) apply(pkg Package) Package {
	applyShared(p.Parameters, p.Annotations, p.Publish, &pkg.Parameters, &pkg.Annotations, &pkg.Publish)
	pkg.Annotations.Delete(AnnotationPackageBinding)
	if pkg.IsBinding() {
		_ = pkg.Annotations.SetJSON(AnnotationPackageBinding, pkg.Binding) // a Binding always encodes
	}
	return pkg
}

// applyShared sets the fields every PUT body may carry (parameters,
// annotations, publish) that it does carry, and copies the arrays so that
// the document shares none with the body or the old document.
func applyShared(params, annotations *KeyValues, publish *bool, toParams, toAnnotations *KeyValues, toPublish *bool) {
	if params != nil {
		*toParams = *params
	}
	if annotations != nil {
		*toAnnotations = *annotations
	}
	if publish != nil {
		*toPublish = *publish
	}
	*toParams = append(KeyValues{}, *toParams...)
	*toAnnotations = append(KeyValues{}, *toAnnotations...)
}

// MergeParameters returns base overridden by each of over in turn: the
// controller's order is package < binding < action < invoke.
func MergeParameters(base KeyValues, over ...KeyValues) KeyValues {
	out := append(KeyValues{}, base...)
	for _, kv := range over {
		for _, e := range kv {
			out.set(e.Key, e.Value)
		}
	}
	return out
}
