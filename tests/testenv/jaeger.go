package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// EnvJaeger names the Jaeger binary the tests run; `make test` sets it to
// the bin/jaeger it builds from tools/jaeger.
const EnvJaeger = "EPILOGUE_JAEGER"

// RequireJaeger returns the path of the Jaeger all-in-one binary: $EPILOGUE_JAEGER,
// else bin/jaeger at the module's root (`make bin/jaeger` builds it). A
// missing binary skips the test, or fails it under CI=true.
func RequireJaeger(t testing.TB) string {
	t.Helper()
	path := os.Getenv(EnvJaeger)
	if path == "" {
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			t.Fatalf("go env GOMOD: %v", err)
		}
		path = filepath.Join(filepath.Dir(strings.TrimSpace(string(gomod))), "bin", "jaeger")
	}
	if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		missing(t, "`make test` builds it (make bin/jaeger)",
			"the Jaeger binary %s is missing (set %s or run `make bin/jaeger`, which builds it from tools/jaeger)", path, EnvJaeger)
		return ""
	}
	return path
}
