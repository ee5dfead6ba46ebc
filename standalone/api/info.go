package api

import (
	"net/http"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// RuntimeImage is the image every action this server runs is on: blackbox
// actions, and Go source actions once compiled.
const RuntimeImage = "epilogue/action-go:latest"

// root: GET / → the controller's info document: API paths, limits and the
// runtimes manifest (wskdeploy reads the kinds from it). Only the kinds this
// server really runs are listed.
func (s *server) root(w http.ResponseWriter, _ *http.Request) {
	const mb = 1 << 20
	writeJSON(w, http.StatusOK, map[string]any{
		"description": "OpenWhisk (Epilogue standalone)",
		"support":     map[string]string{"github": "https://github.com/epilogue-dev/epilogue/issues"},
		"api_paths":   []string{"/api/v1"},
		"limits": map[string]int64{
			"min_action_duration": entity.MinTimeoutMs, "max_action_duration": entity.MaxTimeoutMs,
			"min_action_memory": entity.MinMemoryMB * mb, "max_action_memory": entity.MaxMemoryMB * mb,
			"min_action_logs": entity.MinLogsMB * mb, "max_action_logs": entity.MaxLogsMB * mb,
			"default_min_action_duration": entity.MinTimeoutMs, "default_max_action_duration": entity.MaxTimeoutMs,
			"default_min_action_memory": entity.MinMemoryMB * mb, "default_max_action_memory": entity.MaxMemoryMB * mb,
			"default_min_action_logs": entity.MinLogsMB * mb, "default_max_action_logs": entity.MaxLogsMB * mb,
		},
		"runtimes": map[string][]map[string]any{
			entity.KindBlackbox: {{
				"kind": entity.KindBlackbox, "image": RuntimeImage,
				"deprecated": false, "default": true, "attached": false, "requireMain": false,
			}},
			// Go source (any go:1.N is accepted; this is the one OpenWhisk
			// lists), compiled on the server's host.
			"go": {{
				"kind": "go:1.22", "image": RuntimeImage,
				"deprecated": false, "default": true, "attached": false, "requireMain": false,
			}},
		},
	})
}

// ping: GET /ping → "pong" as text, as the controller's health check answers.
func ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("Content-Length", "4")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("pong")) // the client went away; nothing to do
}

// info: GET /api/v1 → the API's own info document.
func (s *server) info(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"description":      "OpenWhisk API (Epilogue standalone)",
		"api_version":      "1.0.0",
		"api_version_path": "v1",
		"build":            "epilogue",
		"swagger_paths":    map[string]string{},
	})
}
