package api

import (
	"net/http"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// listNamespaces: GET /api/v1/namespaces → the caller's namespace, the only
// one it may use (`wsk namespace list`).
func (s *server) listNamespaces(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []string{callerOf(r).namespace})
}

// namespaceLimits is what GET …/limits answers: the controller's UserLimits
// with its action bounds filled in (memory and logs in MB, duration in ms).
// The controller's throttles (invocationsPerMinute, concurrentInvocations,
// firesPerMinute) are absent, as for a namespace that sets none of its own
// and a system with none: this server throttles nothing.
type namespaceLimits struct {
	ActionMemoryMax      int `json:"actionMemoryMax"`
	ActionMemoryMin      int `json:"actionMemoryMin"`
	ActionLogsMax        int `json:"actionLogsMax"`
	ActionLogsMin        int `json:"actionLogsMin"`
	ActionDurationMax    int `json:"actionDurationMax"`
	ActionDurationMin    int `json:"actionDurationMin"`
	ActionConcurrencyMax int `json:"actionConcurrencyMax"`
	ActionConcurrencyMin int `json:"actionConcurrencyMin"`
}

// limits: GET …/limits → the bounds an action's limits must keep
// (entity.Limits checks them on create and update).
func (s *server) limits(w http.ResponseWriter, r *http.Request) {
	if _, ok := namespace(w, r); !ok {
		return
	}
	writeJSON(w, http.StatusOK, namespaceLimits{
		ActionMemoryMax: entity.MaxMemoryMB, ActionMemoryMin: entity.MinMemoryMB,
		ActionLogsMax: entity.MaxLogsMB, ActionLogsMin: entity.MinLogsMB,
		ActionDurationMax: entity.MaxTimeoutMs, ActionDurationMin: entity.MinTimeoutMs,
		ActionConcurrencyMax: entity.MaxConcurrency, ActionConcurrencyMin: entity.MinConcurrency,
	})
}
