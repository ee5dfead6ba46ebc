package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// listActions: GET …/actions?limit=&skip=&count= → [action summary…],
// newest first.
func (s *server) listActions(w http.ResponseWriter, r *http.Request) {
	if ns, ok := namespace(w, r); ok {
		list(w, r, "actions", func(limit, skip int) ([]entity.Action, error) { return s.store.ListActions(ns, limit, skip) },
			func() (int, error) { return s.store.CountActions(ns) }, entity.Action.Summary)
	}
}

// list answers GET …/COLLECTION?limit=&skip= with the summaries of what
// read returns for that page, or with ?count=true {"COLLECTION": N}, N
// being what count returns less skip, as the controller's countEntities.
func list[T, S any](w http.ResponseWriter, r *http.Request, collection string, read func(limit, skip int) ([]T, error), count func() (int, error), summary func(T) S) {
	q := r.URL.Query()
	limit, skip, err := page(q)
	if err != nil {
		fail(w, err)
		return
	}
	counting, err := boolParam(q, "count", false)
	if err != nil {
		fail(w, err)
		return
	}
	if counting {
		n, err := count()
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{collection: max(n-skip, 0)})
		return
	}
	docs, err := read(limit, skip)
	if err != nil {
		fail(w, err)
		return
	}
	out := make([]S, 0, len(docs))
	for _, d := range docs {
		out = append(out, summary(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// putAction: PUT …/actions/NAME?overwrite= creates an action, or with
// overwrite=true creates or updates one as `wsk action update` does: fields
// absent from the body keep their old values.
func (s *server) putAction(w http.ResponseWriter, r *http.Request) {
	req, ok := readPut(w, r, s.maxAction)
	if !ok {
		return
	}
	ns, name, overwrite := req.ns, req.name, req.overwrite
	put, err := entity.DecodeActionPut(req.body)
	if err != nil {
		fail(w, err)
		return
	}
	var a entity.Action
	old, err := s.store.GetAction(ns, name)
	switch {
	case err == nil && overwrite:
		a, err = put.Update(old)
	case err == nil || errors.Is(err, store.ErrNotFound):
		a, err = put.Create(ns, name)
	}
	if err != nil {
		fail(w, err)
		return
	}
	if a.Exec.Kind == entity.KindSequence {
		if err := s.checkSequence(ns, &a); err != nil {
			fail(w, err)
			return
		}
	}
	saved, err := s.store.PutAction(a, overwrite)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, saved.WithoutCode())
}

// getAction: GET …/actions/NAME?code= (default true) → the action document,
// with the parameters it inherits from its package or binding; GET
// …/actions/PKG/ lists a package's actions.
func (s *server) getAction(w http.ResponseWriter, r *http.Request) {
	ns, ok := namespace(w, r)
	if !ok {
		return
	}
	name := mux.Vars(r)["name"]
	if pkg, ok := strings.CutSuffix(name, "/"); ok {
		s.listPackageActions(w, r, ns, pkg)
		return
	}
	code, err := boolParam(r.URL.Query(), "code", true)
	if err != nil {
		fail(w, err)
		return
	}
	get := s.resolveActionWithCode
	if !code {
		get = s.resolveAction
	}
	a, _, err := get(ns, name)
	if err != nil {
		fail(w, err)
		return
	}
	if !code {
		a = a.WithoutCode()
	}
	writeJSON(w, http.StatusOK, a)
}

// deleteAction: DELETE …/actions/NAME → the deleted action document.
func (s *server) deleteAction(w http.ResponseWriter, r *http.Request) {
	if a, ok := named(w, r, s.store.DeleteAction); ok {
		writeJSON(w, http.StatusOK, a.WithoutCode())
	}
}

// named calls do with the route's namespace and {name}. It answers an error
// itself and returns false.
func named[T any](w http.ResponseWriter, r *http.Request, do func(ns, name string) (T, error)) (T, bool) {
	var zero T
	ns, ok := namespace(w, r)
	if !ok {
		return zero, false
	}
	v, err := do(ns, mux.Vars(r)["name"])
	if err != nil {
		fail(w, err)
		return zero, false
	}
	return v, true
}
