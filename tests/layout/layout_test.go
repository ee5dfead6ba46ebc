// Package layout checks that imports point one way: the runtime core stays
// small and never pulls in the heavy dependencies of the features built on it.
package layout

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/epilogue-dev/epilogue"

// deps lists the non-standard-library packages pkg depends on.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+"/"+pkg).Output()
	require.NoError(t, err, "go list %s", pkg)
	var list []string
	for _, p := range strings.Fields(string(out)) {
		if p != module+"/"+pkg {
			list = append(list, p)
		}
	}
	return list
}

// dockerClient is what github.com/docker/docker/client pulls in.
var dockerClient = []string{"github.com/docker/", "github.com/containerd/", "github.com/distribution/",
	"github.com/opencontainers/", "github.com/moby/", "github.com/pkg/errors", "github.com/felixge/httpsnoop",
	"github.com/go-logr/", "go.opentelemetry.io/", "golang.org/x/sys"}

func TestImportsPointOneWay(t *testing.T) {
	tests := []struct {
		pkg     string
		allowed []string // prefixes (within the module or outside) pkg may depend on
	}{
		{"actionloop", nil},
		{"completion", nil},
		{"proxy/archive", nil},
		{"proxy/activation", []string{module + "/completion"}},
		{"proxy/executor", []string{module + "/actionloop"}},
		{"proxy", []string{module + "/actionloop", module + "/completion", module + "/proxy/"}},
		{"cmd/epilogue-proxy", []string{module + "/actionloop", module + "/completion", module + "/proxy"}},
		// The SDK is linked into every action: the standard library and the wire format only.
		{"sdk", []string{module + "/actionloop"}},
		{"actionbuild", nil},
		{"reclaim", []string{module + "/completion"}},
		{"standalone/entity", nil},
		{"standalone/backend", nil},
		{"standalone/backend/process", []string{module + "/standalone/backend", "golang.org/x/sys"}},
		{"standalone/api", []string{module + "/standalone/entity", module + "/standalone/store", "go.etcd.io/bbolt", "golang.org/x/sys", "github.com/gorilla/mux"}},
		{"standalone/store", []string{module + "/standalone/entity", "go.etcd.io/bbolt", "golang.org/x/sys"}},
		{"standalone/containerclient", nil},
		// The pool runs on any backend: it never pulls in Docker.
		{"standalone/pool", []string{module + "/actionloop", module + "/completion", module + "/reclaim",
			module + "/standalone/backend", module + "/standalone/containerclient", module + "/standalone/entity",
			module + "/standalone/store", "go.etcd.io/bbolt", "golang.org/x/sys"}},
		{"invoker-shim/journal", nil},
		{"internal/redisserver", []string{module + "/internal/syncbuf"}},
		{"internal/syncbuf", nil},
		{"internal/faultnet", nil},
		// The shim owns Docker API semantics; the policy is reclaim's. It
		// never reaches into the standalone server or the runtime.
		{"invoker-shim", append([]string{module + "/completion", module + "/reclaim", module + "/invoker-shim/journal"}, dockerClient...)},
		{"cmd/epilogue-shim", append([]string{module + "/invoker-shim", module + "/completion", module + "/reclaim"}, dockerClient...)},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			for _, d := range deps(t, tt.pkg) {
				ok := false
				for _, a := range tt.allowed {
					ok = ok || strings.HasPrefix(d, a)
				}
				assert.True(t, ok, "%s must not depend on %s", tt.pkg, d)
			}
		})
	}
}
