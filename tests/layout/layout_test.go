// Package layout checks that imports point one way: the runtime core stays
// small and never pulls in the heavy dependencies of the features built on it,
// and no command links the test harness. It also checks that every package
// outside tests/ and examples/ says in a doc.go what it owns.
package layout

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/epilogue-dev/epilogue"

// importPath is pkg's import path; "" is the module's root package.
func importPath(pkg string) string {
	if pkg == "" {
		return module
	}
	return module + "/" + pkg
}

// deps lists the non-standard-library packages pkg depends on.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", importPath(pkg)).Output()
	require.NoError(t, err, "go list %s", pkg)
	var list []string
	for _, p := range strings.Fields(string(out)) {
		if p != importPath(pkg) {
			list = append(list, p)
		}
	}
	return list
}

// goList runs go list with args and returns the fields of its output.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	require.NoError(t, err, "go list %s", strings.Join(args, " "))
	return strings.Fields(string(out))
}

// imports lists the non-standard-library packages pkg imports itself.
func imports(t *testing.T, pkg string) []string {
	t.Helper()
	nonStd := deps(t, pkg)
	var list []string
	for _, p := range goList(t, "-f", `{{join .Imports "\n"}}`, module+"/"+pkg) {
		if slices.Contains(nonStd, p) {
			list = append(list, p)
		}
	}
	return list
}

// dockerClient is what github.com/docker/docker/client pulls in
// (OpenTelemetry's attribute package hashes with xxhash since the release
// Helm's test-only dependency moved the module to).
var dockerClient = []string{"github.com/docker/", "github.com/containerd/", "github.com/distribution/",
	"github.com/opencontainers/", "github.com/moby/", "github.com/pkg/errors", "github.com/felixge/httpsnoop",
	"github.com/go-logr/", "go.opentelemetry.io/", "golang.org/x/sys", "github.com/cespare/xxhash/"}

// otelAPI is OpenTelemetry's tracing API (no SDK, no exporter): what a
// package that creates spans from a provider it is handed may import.
var otelAPI = []string{"go.opentelemetry.io/otel", "go.opentelemetry.io/otel/", "go.opentelemetry.io/auto/sdk",
	"github.com/go-logr/", "github.com/cespare/xxhash/"}

// otelExport is the OpenTelemetry SDK and its OTLP exporters (HTTP and
// gRPC): only the telemetry package and the commands link them.
var otelExport = append([]string{"go.opentelemetry.io/proto/", "google.golang.org/grpc", "google.golang.org/protobuf/",
	"google.golang.org/genproto/", "github.com/grpc-ecosystem/", "github.com/cenkalti/backoff/", "github.com/google/uuid",
	"github.com/cespare/xxhash/", "golang.org/x/net/", "golang.org/x/sys/", "golang.org/x/text/"}, otelAPI...)

// promClient is the Prometheus client (its registry, text exposition and
// process collector): what a package that owns metrics may import.
var promClient = []string{"github.com/prometheus/", "github.com/beorn7/perks/", "github.com/munnerz/goautoneg",
	"google.golang.org/protobuf/", "github.com/cespare/xxhash/", "golang.org/x/sys"}

// goRedis is what github.com/redis/go-redis/v9 pulls in.
var goRedis = []string{"github.com/redis/go-redis/", "github.com/cespare/xxhash/", "go.uber.org/atomic"}

// owClient is openwhisk-client-go and what it pulls in: the task
// recoverer invokes actions through any OpenWhisk's REST API with it.
var owClient = []string{"github.com/apache/openwhisk-client-go/", "github.com/cloudfoundry/jibber_jabber",
	"github.com/nicksnyder/go-i18n/", "github.com/pelletier/go-toml", "gopkg.in/yaml.v2", "golang.org/x/sys",
	"github.com/mattn/go-isatty", "github.com/mattn/go-colorable", "github.com/fatih/color",
	"github.com/google/go-querystring/", "github.com/hokaccha/go-prettyjson"}

// k8sAPI is what k8s.io/api's types and sigs.k8s.io/yaml pull in.
var k8sAPI = []string{"k8s.io/api/", "k8s.io/apimachinery/", "k8s.io/klog/", "k8s.io/kube-openapi/", "k8s.io/utils/",
	"sigs.k8s.io/", "github.com/fxamacker/cbor/", "github.com/go-logr/logr", "github.com/json-iterator/go",
	"github.com/modern-go/", "github.com/x448/float16", "go.yaml.in/yaml/", "golang.org/x/net/", "golang.org/x/text/",
	"gopkg.in/inf.v0"}

// chaos is what the fault-injection suite may depend on: the platform it
// drives (standalone, with its store and API), the shim, the policy, the
// action builder (with the SDK source it carries, the root package), the
// internal helpers, Redis and Docker clients, and the task recoverer the
// standalone runs built in (durable, openwhisk-client-go); never
// anything under tests/ (it is linked into the epilogue command).
var chaos = slices.Concat([]string{module, module + "/standalone", module + "/reclaim", module + "/invoker-shim",
	module + "/actionbuild", module + "/actionloop", module + "/completion", module + "/internal/", module + "/proxy/archive",
	module + "/durable", module + "/keepalive", "go.etcd.io/bbolt", "github.com/gorilla/mux"}, goRedis, dockerClient, promClient, owClient)

// poolDeps is what the container pool may depend on: it runs on any
// backend and never pulls in Docker; it asks keepalive's policies, which
// are decision logic only.
var poolDeps = append([]string{module + "/actionloop", module + "/completion", module + "/reclaim", module + "/internal/ctxtime", module + "/keepalive",
	module + "/standalone/backend", module + "/standalone/containerclient", module + "/standalone/entity",
	module + "/standalone/store", "go.etcd.io/bbolt", "golang.org/x/sys"}, slices.Concat(otelAPI, promClient)...)

func TestImportsPointOneWay(t *testing.T) {
	tests := []struct {
		pkg     string
		allowed []string // prefixes (within the module or outside) pkg may depend on
	}{
		{"actionloop", nil},
		{"completion", nil},
		{"proxy/archive", nil},
		{"proxy/activation", []string{module + "/completion"}},
		{"proxy/executor", []string{module + "/actionloop", "golang.org/x/sys"}},
		// The proxy creates spans from the provider it is handed: the API only.
		{"proxy", append([]string{module + "/actionloop", module + "/completion", module + "/proxy/", "golang.org/x/sys"}, otelAPI...)},
		{"cmd/epilogue-proxy", append([]string{module + "/actionloop", module + "/completion", module + "/proxy", module + "/internal/cli",
			module + "/internal/sysmon", module + "/telemetry"}, otelExport...)},
		// The SDK is linked into every action: the standard library and the wire format only.
		{"sdk", []string{module + "/actionloop", module + "/completion", module + "/durable"}},
		// The task store's protocol is linked into every action through the
		// SDK: the standard library only (its own RESP client, not go-redis).
		{"durable", nil},
		// The recoverer: the store's protocol and an OpenWhisk client, never
		// the standalone (it works against any OpenWhisk).
		{"durable/recoverer", append([]string{module + "/durable"}, owClient...)},
		// The root package carries the SDK's source as data: the standard
		// library only, so every command may link it.
		{"", nil},
		// actionbuild writes that source out for builds outside this
		// repository; the root package (matched exactly, see below) is all
		// it takes from the module.
		{"actionbuild", []string{module}},
		{"reclaim", []string{module + "/completion", module + "/internal/ctxtime"}},
		// The OpenTelemetry setup: the SDK and the exporters, nothing of Epilogue.
		{"telemetry", otelExport},
		{"standalone/entity", nil},
		{"standalone/backend", nil},
		{"standalone/backend/process", []string{module + "/completion", module + "/standalone/backend", "golang.org/x/sys"}},
		{"standalone/api", append([]string{module + "/standalone/entity", module + "/standalone/store", "go.etcd.io/bbolt", "golang.org/x/sys", "github.com/gorilla/mux"}, otelAPI...)},
		{"standalone/store", []string{module + "/standalone/entity", "go.etcd.io/bbolt", "golang.org/x/sys"}},
		// Go source → the runtime image's zip: the builder (with the SDK
		// source it carries), the safe unpacking of /init code, the documents.
		{"standalone/gosource", []string{module, module + "/actionbuild", module + "/proxy/archive", module + "/standalone/entity"}},
		{"standalone/containerclient", append([]string{module + "/completion"}, otelAPI...)},
		{"standalone/pool", poolDeps},
		// The live view shows the pool: it never reaches past it.
		{"standalone/liveview", append([]string{module + "/standalone/pool"}, poolDeps...)},
		{"invoker-shim/journal", nil},
		// The internal helpers: the standard library only (redisserver
		// watches the server's output through syncbuf).
		{"internal/redisserver", []string{module + "/internal/syncbuf"}},
		{"internal/syncbuf", nil},
		{"internal/faultnet", nil},
		{"internal/cli", nil},
		{"internal/svgtext", nil},
		{"internal/ctxtime", nil},
		// The proxy's re-execution for the runtime's monitor: the names of
		// its settings, and the system calls.
		{"internal/sysmon", []string{module + "/completion", "golang.org/x/sys"}},
		// The keep-alive policies are decision logic on the caller's clock:
		// the standard library only, so that the pool can link them.
		{"keepalive", nil},
		// The replay simulator runs the policies, nothing of the platform.
		{"replay", []string{module + "/keepalive"}},
		// The live replay runs the simulator's trace against the real pool
		// on the process backend, and serves its action through the SDK.
		{"replay/live", slices.Concat([]string{module + "/replay", module + "/sdk", module + "/durable",
			module + "/standalone/backend/process", module + "/standalone/pool"}, poolDeps)},
		{"chaos", chaos},
		// Through the suite's result types the report depends on what the
		// suite does; TestReportImportsOnlyTheSuite checks its own imports.
		{"chaos/report", append([]string{module + "/chaos"}, chaos...)},
		// The shim owns Docker API semantics; the policy is reclaim's. It
		// never reaches into the standalone server or the runtime.
		{"invoker-shim", slices.Concat([]string{module + "/completion", module + "/reclaim", module + "/internal/ctxtime", module + "/invoker-shim/journal"}, dockerClient, promClient)},
		// The post-renderer writes Kubernetes objects: their types and the
		// reclaim bounds it derives the grace period from, durable's names of
		// the task store's settings; never Docker, the shim or the runtime
		// (it describes them, it does not run them).
		{"kube", append([]string{module + "/reclaim", module + "/internal/ctxtime", module + "/completion", module + "/durable"}, k8sAPI...)},
		{"cmd/epilogue-shim", slices.Concat([]string{module + "/invoker-shim", module + "/completion", module + "/reclaim", module + "/internal/ctxtime", module + "/internal/cli",
			module + "/telemetry"}, dockerClient, otelExport, promClient)},
	}
	for _, tt := range tests {
		name := tt.pkg
		if name == "" {
			name = "root"
		}
		t.Run(name, func(t *testing.T) {
			for _, d := range deps(t, tt.pkg) {
				ok := false
				for _, a := range tt.allowed {
					// The module's root is a prefix of every package in
					// it: as an entry it allows itself only.
					ok = ok || d == a || (a != module && strings.HasPrefix(d, a))
				}
				assert.True(t, ok, "%s must not depend on %s", tt.pkg, d)
			}
		})
	}
}

// TestReportImportsOnlyTheSuite: chaos/report is presentation; beside the
// standard library it imports the suite's result types and nothing else.
func TestReportImportsOnlyTheSuite(t *testing.T) {
	assert.Equal(t, []string{module + "/chaos"}, imports(t, "chaos/report"))
}

// harness is what no command may link: the module's test packages and
// kube's test checks, testify, Helm (tests/kubernetes renders charts with
// it; the post-renderer needs none of it), and the standard library's
// testing (only a test harness imports it).
var harness = []string{module + "/tests/", module + "/kube/kubetest", "github.com/stretchr/testify", "helm.sh/helm", "testing"}

// TestCommandsLinkNoTestHarness: the product binaries (every main package
// under cmd/) link nothing of the test harness. What a command needs from
// it (epilogue chaos, the fault proxy, the Redis runner) lives in chaos/
// and internal/ instead.
func TestCommandsLinkNoTestHarness(t *testing.T) {
	cmds := goList(t, "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`, module+"/cmd/...")
	require.NotEmpty(t, cmds, "no main package under cmd/")
	for _, cmd := range cmds {
		t.Run(strings.TrimPrefix(cmd, module+"/"), func(t *testing.T) {
			for _, d := range goList(t, "-deps", cmd) {
				for _, h := range harness {
					assert.False(t, d == h || strings.HasPrefix(d, strings.TrimSuffix(h, "/")+"/"),
						"%s links %s, part of the test harness (%s)", cmd, d, h)
				}
			}
		})
	}
}

// TestEveryPackageHasDocGo: every package of the module outside tests/ and
// examples/ (test-only directories aside) has a doc.go holding its package
// comment, which says what it owns and what it does not.
func TestEveryPackageHasDocGo(t *testing.T) {
	lines := goList(t, "-f", `{{if .GoFiles}}{{.ImportPath}}={{.Dir}}{{end}}`, module+"/...")
	require.NotEmpty(t, lines)
	for _, l := range lines {
		pkg, dir, ok := strings.Cut(l, "=")
		require.True(t, ok, "go list line %q", l)
		rel := strings.TrimPrefix(pkg, module+"/")
		if rel == "tests" || strings.HasPrefix(rel, "tests/") || rel == "examples" || strings.HasPrefix(rel, "examples/") {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			path := filepath.Join(dir, "doc.go")
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s has no doc.go: write one saying what the package owns and what it does not", rel)
				return
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
			require.NoError(t, err)
			assert.NotNil(t, f.Doc, "%s/doc.go has no package comment", rel)
		})
	}
}

// TestNoBuiltBinaryIsTracked: a binary built in the checkout (go build
// ./examples/... drops one at the root) once reached a commit and put 12 MB
// into every clone. No tracked file is an executable image, and none is
// larger than the biggest text the repository holds needs.
func TestNoBuiltBinaryIsTracked(t *testing.T) {
	root := goList(t, "-m", "-f", "{{.Dir}}")
	require.Len(t, root, 1)
	if err := exec.Command("git", "-C", root[0], "rev-parse", "--git-dir").Run(); err != nil {
		t.Skip("not a git checkout: no file is tracked")
	}
	out, err := exec.Command("git", "-C", root[0], "ls-files", "-z").Output()
	require.NoError(t, err, "git ls-files")
	const maxTracked = 1 << 20
	magics := map[string]string{"\x7fELF": "an ELF executable", "MZ": "a Windows executable", "\xcf\xfa\xed\xfe": "a Mach-O executable"}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		path := filepath.Join(root[0], name)
		info, err := os.Lstat(path)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		assert.LessOrEqual(t, info.Size(), int64(maxTracked), "%s is tracked and %d bytes: a build output? git rm --cached it and ignore it", name, info.Size())
		head := make([]byte, 4)
		f, err := os.Open(path)
		require.NoError(t, err)
		n, _ := f.Read(head)
		f.Close()
		for magic, kind := range magics {
			assert.False(t, strings.HasPrefix(string(head[:n]), magic), "%s is tracked and is %s: git rm --cached it and ignore it", name, kind)
		}
	}
}
