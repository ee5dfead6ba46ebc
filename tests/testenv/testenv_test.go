package testenv

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestBuildStatic(t *testing.T) {
	a := BuildStatic(t, "./tests/testaction")
	b := BuildStatic(t, "./tests/testaction")
	if a == b {
		t.Fatalf("both calls returned %s; want a copy per call", a)
	}
	ea, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ea, eb) {
		t.Fatal("the second call did not return the cached build")
	}
	f, err := elf.NewFile(bytes.NewReader(ea))
	if err != nil {
		t.Fatalf("not an ELF executable: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("machine %v; want EM_X86_64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the executable has a program interpreter: it is not static")
		}
	}
}

// helperEnv makes the helper tests run for real, in a child process.
const helperEnv = "TESTENV_HELPER"

func TestRequireDockerHelper(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("run by TestRequireDockerUnreachable")
	}
	RequireDocker(t)
	t.Log("engine reachable")
}

func TestRequireImageHelper(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("run by TestRequireImageMissing")
	}
	RequireImage(t, RequireDocker(t), "epilogue/testenv-no-such-image:none")
	t.Log("image present")
}

// runHelper runs one helper test in a child process with extra environment
// and reports whether it failed, and its output.
func runHelper(t *testing.T, name string, env ...string) (failed bool, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	// GORACE: no 1 s race-detector pause at the child's exit.
	cmd.Env = append(append(os.Environ(), helperEnv+"=1", "GORACE=atexit_sleep_ms=0"), env...)
	b, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish: %v\n%s", name, ctx.Err(), b)
	}
	return err != nil, string(b)
}

// TestRequireDockerUnreachable checks that an unreachable engine skips
// without CI and fails with CI=true, in a child test process.
func TestRequireDockerUnreachable(t *testing.T) {
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{ci: "", wantFail: false, want: "--- SKIP: TestRequireDockerHelper"},
		{ci: "false", wantFail: false, want: "--- SKIP: TestRequireDockerHelper"},
		{ci: "true", wantFail: true, want: "the Docker engine is required in CI"},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			failed, out := runHelper(t, "TestRequireDockerHelper", "CI="+tc.ci,
				"DOCKER_HOST=unix://"+t.TempDir()+"/no-engine.sock", "DOCKER_CONTEXT=")
			if failed != tc.wantFail {
				t.Errorf("child failed=%v; want %v:\n%s", failed, tc.wantFail, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("child output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestRequireImageMissing checks that a missing image skips without CI and
// fails with CI=true, pointing at `make image`.
func TestRequireImageMissing(t *testing.T) {
	RequireDocker(t) // the child needs a reachable engine to get as far as the image
	for _, tc := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{ci: "", wantFail: false, want: "--- SKIP: TestRequireImageHelper"},
		{ci: "true", wantFail: true, want: "--- FAIL: TestRequireImageHelper"},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			failed, out := runHelper(t, "TestRequireImageHelper", "CI="+tc.ci)
			if failed != tc.wantFail {
				t.Errorf("child failed=%v; want %v:\n%s", failed, tc.wantFail, out)
			}
			for _, w := range []string{tc.want, "run `make image` first"} {
				if !strings.Contains(out, w) {
					t.Errorf("child output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
