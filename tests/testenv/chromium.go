package testenv

import (
	"os/exec"
	"testing"
)

// chromiumNames are the executables RequireChromium looks for, Debian's first.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

// RequireChromium returns the path of a Chromium to drive headless over the
// DevTools protocol (Debian's `chromium`, installed by `make deps`). Without
// one in PATH the test is skipped, or fails under CI=true.
func RequireChromium(t testing.TB) string {
	t.Helper()
	for _, name := range chromiumNames {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	missing(t, "install it: sudo apt-get install -y chromium (make deps does)",
		"no Chromium in PATH (looked for %v)", chromiumNames)
	return ""
}
