package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// listActions: GET …/actions?limit=&skip= → [action summary…], newest first.
func (s *server) listActions(w http.ResponseWriter, r *http.Request) {
	ns, ok := namespace(w, r)
	if !ok {
		return
	}
	limit, skip, err := page(r.URL.Query())
	if err != nil {
		fail(w, err)
		return
	}
	actions, err := s.store.ListActions(ns, limit, skip)
	if err != nil {
		fail(w, err)
		return
	}
	writeActionSummaries(w, actions)
}

func writeActionSummaries(w http.ResponseWriter, actions []entity.Action) {
	out := make([]entity.ActionSummary, 0, len(actions))
	for _, a := range actions {
		out = append(out, a.Summary())
	}
	writeJSON(w, http.StatusOK, out)
}

// putAction: PUT …/actions/NAME?overwrite= creates an action, or with
// overwrite=true creates or updates one as `wsk action update` does: fields
// absent from the body keep their old values.
func (s *server) putAction(w http.ResponseWriter, r *http.Request) {
	ns, ok := namespace(w, r)
	if !ok {
		return
	}
	name := mux.Vars(r)["name"]
	overwrite, err := boolParam(r.URL.Query(), "overwrite", false)
	if err != nil {
		fail(w, err)
		return
	}
	body, err := readBody(w, r, s.maxAction)
	if err != nil {
		fail(w, err)
		return
	}
	put, err := entity.DecodeActionPut(body)
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
	a, err := s.resolveAction(ns, name)
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
	ns, ok := namespace(w, r)
	if !ok {
		return
	}
	a, err := s.store.DeleteAction(ns, mux.Vars(r)["name"])
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.WithoutCode())
}
