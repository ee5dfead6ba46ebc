package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// listPackages: GET …/packages?limit=&skip=&count= → [package summary…].
func (s *server) listPackages(w http.ResponseWriter, r *http.Request) {
	if ns, ok := namespace(w, r); ok {
		list(w, r, "packages", func(limit, skip int) ([]entity.Package, error) { return s.store.ListPackages(ns, limit, skip) },
			func() (int, error) { return s.store.CountPackages(ns) }, entity.Package.Summary)
	}
}

// putPackage: PUT …/packages/NAME?overwrite= creates a package or a binding
// ({"binding":{"namespace":…,"name":…}}), or with overwrite=true updates one.
func (s *server) putPackage(w http.ResponseWriter, r *http.Request) {
	req, ok := readPut(w, r, s.maxInvoke)
	if !ok {
		return
	}
	ns, name := req.ns, req.name
	put, err := entity.DecodePackagePut(req.body)
	if err != nil {
		fail(w, err)
		return
	}
	if put.Binding != nil && put.Binding.Namespace == "_" {
		put.Binding.Namespace = ns // the controller resolves "_" to the caller's namespace
	}
	if put.Binding != nil && put.Binding.Namespace != ns && !s.shared(*put.Binding) {
		// Another namespace's package is bindable only when published; an
		// unpublished one is answered as OpenWhisk's entitlement check does.
		writeErrorf(w, http.StatusForbidden, "The supplied authentication is not authorized to access '%s'.", put.Binding.Namespace+"/"+put.Binding.Name)
		return
	}
	var p entity.Package
	old, err := s.store.GetPackage(ns, name)
	if err == nil && req.overwrite {
		p = put.Update(old)
	} else if p, err = put.Create(ns, name); err != nil {
		fail(w, err)
		return
	}
	saved, err := s.store.PutPackage(p, req.overwrite)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, saved)
}

// shared reports whether b names a published package.
func (s *server) shared(b entity.Binding) bool {
	p, err := s.store.GetPackage(b.Namespace, b.Name)
	return err == nil && p.Publish
}

// getPackage: GET …/packages/NAME → the package with its actions; a binding
// shows the bound package's actions and parameters under its own.
func (s *server) getPackage(w http.ResponseWriter, r *http.Request) {
	p, ok := named(w, r, s.store.GetPackage)
	if !ok {
		return
	}
	var err error
	home := p
	if p.IsBinding() {
		if home, err = s.store.GetPackage(p.Binding.Namespace, p.Binding.Name); err != nil {
			fail(w, err)
			return
		}
		p.Parameters = entity.MergeParameters(home.Parameters, p.Parameters)
	}
	actions, err := s.store.ListActions(home.Path(), 0, 0)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p.WithActions(actions))
}

// deletePackage: DELETE …/packages/NAME?force= → the deleted package; 409
// while it holds actions, unless force=true.
func (s *server) deletePackage(w http.ResponseWriter, r *http.Request) {
	force, err := boolParam(r.URL.Query(), "force", false)
	if err != nil {
		fail(w, err)
		return
	}
	p, ok := named(w, r, func(ns, name string) (entity.Package, error) { return s.store.DeletePackage(ns, name, force) })
	if ok {
		writeJSON(w, http.StatusOK, p)
	}
}

// listPackageActions: GET …/actions/PKG/ (wsk action list PKG) → the
// actions of a package, or of the package a binding binds.
func (s *server) listPackageActions(w http.ResponseWriter, r *http.Request, ns, pkg string) {
	list(w, r, "actions", func(limit, skip int) ([]entity.Action, error) {
		home, err := s.actionsHome(ns, pkg)
		if err != nil {
			return nil, err
		}
		return s.store.ListActions(home, limit, skip)
	}, func() (int, error) {
		home, err := s.actionsHome(ns, pkg)
		if err != nil {
			return 0, err
		}
		return s.store.CountActions(home)
	}, entity.Action.Summary)
}

// actionsHome is where the actions of package ns/pkg are stored: its own
// path, or the bound package's for a binding.
func (s *server) actionsHome(ns, pkg string) (string, error) {
	p, err := s.store.GetPackage(ns, pkg)
	if err != nil {
		return "", err
	}
	if p.IsBinding() {
		return p.Binding.Path(), nil
	}
	return p.Path(), nil
}

// resolveAction returns the action at ns/name for GET and invoke, with the
// parameters it runs with, and the binding it is reached through ("ns/b" or
// ""). An action in a package inherits the package's parameters; through a
// binding (ns/binding/act) it is the bound package's action, with package <
// binding < action parameters, as the controller merges them.
//
// The action comes without its code (store.GetActionHeader): an invoke
// leaves the code in the store until a container needs it (codeLoader);
// GET asks for it with resolveActionWithCode.
func (s *server) resolveAction(ns, name string) (entity.Action, string, error) {
	return s.resolveActionWith(s.store.GetActionHeader, ns, name)
}

// resolveActionWithCode is resolveAction with the action's code.
func (s *server) resolveActionWithCode(ns, name string) (entity.Action, string, error) {
	return s.resolveActionWith(s.store.GetAction, ns, name)
}

func (s *server) resolveActionWith(get func(ns, name string) (entity.Action, error), ns, name string) (entity.Action, string, error) {
	pkg, act, inPackage := strings.Cut(name, "/")
	if !inPackage {
		a, err := get(ns, name)
		return a, "", err
	}
	if strings.Contains(act, "/") {
		return entity.Action{}, "", fmt.Errorf("%w: %q is not an action name; use NAME or PACKAGE/NAME within a namespace", errBadRequest, name)
	}
	p, err := s.store.GetPackage(ns, pkg)
	if err != nil {
		return entity.Action{}, "", err
	}
	params, binding := p.Parameters, ""
	if p.IsBinding() {
		bound, err := s.store.GetPackage(p.Binding.Namespace, p.Binding.Name)
		if err != nil {
			return entity.Action{}, "", err
		}
		binding = p.Path()
		p, params = bound, entity.MergeParameters(bound.Parameters, p.Parameters)
	}
	a, err := get(p.Path(), act)
	if err != nil {
		return entity.Action{}, "", err
	}
	a.Parameters = entity.MergeParameters(params, a.Parameters)
	return a, binding, nil
}
