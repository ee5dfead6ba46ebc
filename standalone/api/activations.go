package api

import (
	"math"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/store"
)

// listActivations: GET …/activations?name=&since=&upto=&limit=&skip=&docs=
// → newest first; summaries without logs and result unless docs=true. With
// count=true: {"activations": N}, the matching activations less skip (and
// 400 with docs=true), as the controller answers.
func (s *server) listActivations(w http.ResponseWriter, r *http.Request) {
	ns, ok := namespace(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	limit, skip, err := page(q)
	if err != nil {
		fail(w, err)
		return
	}
	since, err := intParam(q, "since", 0, 0, math.MaxInt64)
	if err != nil {
		fail(w, err)
		return
	}
	upto, err := intParam(q, "upto", 0, 0, math.MaxInt64)
	if err != nil {
		fail(w, err)
		return
	}
	docs, err := boolParam(q, "docs", false)
	if err != nil {
		fail(w, err)
		return
	}
	counting, err := boolParam(q, "count", false)
	if err != nil {
		fail(w, err)
		return
	}
	filter := store.ActivationFilter{Name: q.Get("name"), Since: since, Upto: upto, Limit: limit, Skip: skip}
	if counting {
		if docs {
			writeError(w, http.StatusBadRequest, msgDocsWithCount)
			return
		}
		n, err := s.store.CountActivations(ns, filter)
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"activations": n})
		return
	}
	acts, err := s.store.ListActivations(ns, filter)
	if err != nil {
		fail(w, err)
		return
	}
	if docs {
		writeJSON(w, http.StatusOK, acts)
		return
	}
	out := make([]entity.ActivationSummary, 0, len(acts))
	for _, a := range acts {
		out = append(out, a.Summary())
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) activation(w http.ResponseWriter, r *http.Request) (entity.Activation, bool) {
	ns, ok := namespace(w, r)
	if !ok {
		return entity.Activation{}, false
	}
	a, err := s.store.GetActivation(ns, mux.Vars(r)["id"])
	if err != nil {
		fail(w, err)
		return entity.Activation{}, false
	}
	return a, true
}

// getActivation: GET …/activations/ID → the full record.
func (s *server) getActivation(w http.ResponseWriter, r *http.Request) {
	if a, ok := s.activation(w, r); ok {
		writeJSON(w, http.StatusOK, a)
	}
}

// activationLogs: GET …/activations/ID/logs → {"logs":[…]}.
func (s *server) activationLogs(w http.ResponseWriter, r *http.Request) {
	if a, ok := s.activation(w, r); ok {
		logs := a.Logs
		if logs == nil {
			logs = []string{}
		}
		writeJSON(w, http.StatusOK, map[string][]string{"logs": logs})
	}
}

// activationResult: GET …/activations/ID/result → {status, success, result}.
func (s *server) activationResult(w http.ResponseWriter, r *http.Request) {
	if a, ok := s.activation(w, r); ok {
		writeJSON(w, http.StatusOK, a.Response)
	}
}
