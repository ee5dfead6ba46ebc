package gosource_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/internal/syncbuf"
	"github.com/epilogue-dev/epilogue/standalone/entity"
	"github.com/epilogue-dev/epilogue/standalone/gosource"
)

// Bounds: far above a busy machine's compile and start-up, never waited
// out when the tests pass.
const (
	compileBound = 5 * time.Minute
	runBound     = time.Minute
)

const owHello = `package main

// Main is OpenWhisk's Go action shape.
func Main(obj map[string]interface{}) map[string]interface{} {
	name, ok := obj["name"].(string)
	if !ok {
		name = "world"
	}
	return map[string]interface{}{"greeting": "Hello, " + name + "!"}
}
`

const owNamed = `package main

func Hello(obj map[string]interface{}) map[string]interface{} {
	return map[string]interface{}{"from": "Hello", "name": obj["name"]}
}

func Main(obj map[string]interface{}) map[string]interface{} {
	return map[string]interface{}{"from": "Main"}
}
`

const owArray = `package main

func Main(obj map[string]interface{}) []interface{} {
	return []interface{}{"a", obj["name"]}
}
`

// owOwnNames declares, at package level, names the launcher imports.
const owOwnNames = `package main

var json = "mine"

var sdk, reflect, fmt, context = 1, 2, 3, 4

func Main(obj map[string]interface{}) map[string]interface{} {
	_, _, _ = reflect, fmt, context
	return map[string]interface{}{"json": json, "sdk": sdk}
}
`

const sdkMain = `package main

import (
	"context"

	"github.com/epilogue-dev/epilogue/sdk"
)

type in struct {
	Name string ` + "`json:\"name\"`" + `
}

func main() {
	sdk.Run(func(ctx context.Context, in in) (map[string]any, error) {
		return map[string]any{"sdk": "Hi " + in.Name}, nil
	})
}
`

const compileError = `package main

func Main(obj map[string]interface{}) map[string]interface{} {
	return undefinedThing(obj)
}
`

// zipOf is a zip with the files, in order.
func zipOf(t *testing.T, files ...[2]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		require.NoError(t, err)
		_, err = w.Write([]byte(f[1]))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func newCompiler(t *testing.T, dir string) *gosource.Compiler {
	t.Helper()
	c, err := gosource.New(gosource.Config{CacheDir: dir})
	require.NoError(t, err)
	return c
}

func prepare(t *testing.T, c *gosource.Compiler, e entity.Exec) (entity.Exec, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), compileBound)
	defer cancel()
	return c.Prepare(ctx, e)
}

// runAction unpacks a prepared exec's zip and serves one activation with
// it over the ActionLoop protocol (a request line on stdin, the result
// line on fd 3), as the runtime's proxy does.
func runAction(t *testing.T, e entity.Exec, value string) json.RawMessage {
	t.Helper()
	require.True(t, e.Binary)
	data, err := base64.StdEncoding.DecodeString(e.Code)
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	require.Len(t, zr.File, 1)
	require.Equal(t, "exec", zr.File[0].Name)
	rc, err := zr.File[0].Open()
	require.NoError(t, err)
	exe := filepath.Join(t.TempDir(), "exec")
	f, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(f, rc)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, rc.Close())

	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	fd3r, fd3w, err := os.Pipe()
	require.NoError(t, err)
	defer fd3r.Close()
	var stderr syncbuf.Buffer // read while the action may still write
	var cmd *exec.Cmd
	var stdin io.WriteCloser
	// The other tests of this package fork too (go build, their actions),
	// and a child forked while exe was open for writing holds it until its
	// own exec closes it: starting exe then fails with ETXTBSY
	// (golang/go#22315). Such a start is tried again, boundedly.
	for attempt := 1; ; attempt++ {
		cmd = exec.CommandContext(ctx, exe)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		cmd.ExtraFiles = []*os.File{fd3w}
		stdin, err = cmd.StdinPipe()
		require.NoError(t, err)
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		err = cmd.Start()
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, err)
	require.NoError(t, fd3w.Close())
	_, err = io.WriteString(stdin, `{"value":`+value+`,"activation_id":"a1","deadline":"`+
		strconv.FormatInt(time.Now().Add(runBound).UnixMilli(), 10)+`"}`+"\n")
	require.NoError(t, err)
	line, err := bufio.NewReader(fd3r).ReadBytes('\n')
	require.NoError(t, err, "no result line; the action wrote: %s", stderr.String())
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait(), stderr.String())
	return bytes.TrimSpace(line)
}

func TestPrepareCompilesBothShapes(t *testing.T) {
	t.Parallel()
	c := newCompiler(t, t.TempDir())
	module := zipOf(t,
		[2]string{"go.mod", "module greeter\n\ngo 1.22\n"},
		[2]string{"main.go", "package main\n\nimport \"greeter/greet\"\n\nfunc Main(obj map[string]interface{}) map[string]interface{} {\n\treturn map[string]interface{}{\"m\": greet.Greet(obj[\"name\"])}\n}\n"},
		[2]string{"greet/greet.go", "package greet\n\nimport \"fmt\"\n\nfunc Greet(v any) string { return fmt.Sprint(\"hey \", v) }\n"},
	)
	tests := []struct {
		name  string
		exec  entity.Exec
		value string
		want  string
	}{
		{"OpenWhisk's shape, one file", entity.Exec{Kind: "go:1.22", Code: owHello}, `{"name":"Ada"}`, `{"greeting":"Hello, Ada!"}`},
		{"no parameters", entity.Exec{Kind: entity.KindGoDefault, Code: owHello}, `{}`, `{"greeting":"Hello, world!"}`},
		{"--main names another function, capitalized", entity.Exec{Kind: "go:1.22", Code: owNamed, Main: "hello"}, `{"name":"Bo"}`, `{"from":"Hello","name":"Bo"}`},
		{"the action's own names the launcher uses too", entity.Exec{Kind: "go:1.22", Code: owOwnNames}, `{}`, `{"json":"mine","sdk":1}`},
		{"an array result", entity.Exec{Kind: "go:1.22", Code: owArray}, `{"name":"x"}`, `["a","x"]`},
		{"an array parameter", entity.Exec{Kind: "go:1.22", Code: "package main\n\nfunc Main(in []interface{}) []interface{} {\n\treturn append(in, len(in))\n}\n"}, `["x","y"]`, `["x","y",2]`},
		{"an SDK main package", entity.Exec{Kind: "go:1.22", Code: sdkMain}, `{"name":"Cy"}`, `{"sdk":"Hi Cy"}`},
		{"a zip of a Go module with a package of its own", entity.Exec{Kind: "go:1.22", Code: module, Binary: true}, `{"name":"Di"}`, `{"m":"hey Di"}`},
		{"a zip whose source is the file exec", entity.Exec{Kind: "go:1.22", Code: zipOf(t, [2]string{"exec", owHello}), Binary: true}, `{"name":"Ed"}`, `{"greeting":"Hello, Ed!"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, developerError, err := prepare(t, c, tt.exec)
			require.NoError(t, err)
			require.Empty(t, developerError)
			assert.Equal(t, entity.KindBlackbox, got.Kind)
			assert.Equal(t, gosource.DefaultImage, got.Image)
			assert.JSONEq(t, tt.want, string(runAction(t, got, tt.value)))
		})
	}
}

func TestPrepareDeveloperErrors(t *testing.T) {
	t.Parallel()
	c := newCompiler(t, t.TempDir())
	tests := []struct {
		name string
		exec entity.Exec
		want []string // in the developer error
	}{
		{"a compile error is the compiler's message", entity.Exec{Kind: "go:1.22", Code: compileError}, []string{"# exec\n./exec__.go:4:9: undefined: undefinedThing"}},
		{"--main names a missing function", entity.Exec{Kind: "go:1.22", Code: owHello, Main: "missing"}, []string{"main__.go", "undefined: Missing"}},
		{"--main is not an identifier", entity.Exec{Kind: "go:1.22", Code: owHello, Main: "a.b"}, []string{`main "a.b" is not the name of a Go function`}},
		{"a zip entry outside the directory", entity.Exec{Kind: "go:1.22", Code: zipOf(t, [2]string{"../evil.go", "package main"}), Binary: true}, []string{"cannot be unpacked", "../evil.go"}},
		{"a zip without Go", entity.Exec{Kind: "go:1.22", Code: zipOf(t, [2]string{"README", "hi"}), Binary: true}, []string{"undefined: Main"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, developerError, err := prepare(t, c, tt.exec)
			require.NoError(t, err)
			for _, w := range tt.want {
				assert.Contains(t, developerError, w)
			}
		})
	}
}

// TestPrepareRunsCompiledCodeAsItIs: a --native zip, and a Go kind whose
// zip holds a compiled exec, run on the runtime image without a compile.
func TestPrepareRunsCompiledCodeAsItIs(t *testing.T) {
	t.Parallel()
	// No go command: nothing here may compile.
	c, err := gosource.New(gosource.Config{CacheDir: t.TempDir(), GoBin: filepath.Join(t.TempDir(), "no-go")})
	require.NoError(t, err)
	native := zipOf(t, [2]string{"exec", "\x7fELF not really"})
	for _, e := range []entity.Exec{
		{Kind: entity.KindBlackbox, Image: entity.NativeImage, Code: native, Binary: true},
		{Kind: entity.KindBlackbox, Image: entity.NativeImage + ":latest", Code: native, Binary: true, Main: "main"},
		{Kind: "go:1.22", Code: native, Binary: true},
	} {
		require.True(t, c.Runs(e), "%+v", e)
		got, developerError, err := prepare(t, c, e)
		require.NoError(t, err)
		require.Empty(t, developerError)
		assert.Equal(t, entity.Exec{Kind: entity.KindBlackbox, Image: gosource.DefaultImage, Code: native, Binary: true}, got)
	}
	assert.False(t, c.Runs(entity.Exec{Kind: entity.KindBlackbox, Image: "epilogue/action-go"}), "a --docker action is the pool's own")
	assert.False(t, c.Runs(entity.Exec{Kind: "nodejs:20", Code: "x"}))
}

// TestPrepareCompilesOnce: the second server on the same cache directory
// finds the compiled action, even without a go command.
func TestPrepareCompilesOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := entity.Exec{Kind: "go:1.22", Code: owHello}
	first, developerError, err := prepare(t, newCompiler(t, dir), e)
	require.NoError(t, err)
	require.Empty(t, developerError)

	c, err := gosource.New(gosource.Config{CacheDir: dir, GoBin: filepath.Join(t.TempDir(), "no-go")})
	require.NoError(t, err)
	again, developerError, err := prepare(t, c, e)
	require.NoError(t, err)
	require.Empty(t, developerError)
	assert.Equal(t, first, again)

	// Other code does compile, and says the go command is missing.
	_, _, err = prepare(t, c, entity.Exec{Kind: "go:1.22", Code: owArray})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no go command")
	assert.Contains(t, err.Error(), "no-go")
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []gosource.Config{{}, {CacheDir: t.TempDir(), Timeout: -time.Second}, {CacheDir: t.TempDir(), MaxCached: -1}, {CacheDir: t.TempDir(), FailureTTL: -time.Second}} {
		_, err := gosource.New(cfg)
		assert.Error(t, err, "%+v", cfg)
	}
}

// TestREADMEExample: the main.go the README creates a Go source action
// from compiles and answers what the README says.
func TestREADMEExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(readme), "cat > main.go <<'GO'\n")
	require.True(t, ok, "README.md has no main.go heredoc")
	src, rest, ok := strings.Cut(rest, "\nGO\n")
	require.True(t, ok)
	require.Contains(t, rest, "wsk action create hello main.go --kind go:1.22")
	require.Contains(t, rest, `wsk action invoke hello -r -p name Ada           # {"greeting": "Hello, Ada!"}`)

	got, developerError, err := prepare(t, newCompiler(t, t.TempDir()), entity.Exec{Kind: "go:1.22", Code: src + "\n"})
	require.NoError(t, err)
	require.Empty(t, developerError)
	assert.JSONEq(t, `{"greeting":"Hello, Ada!"}`, string(runAction(t, got, `{"name":"Ada"}`)))
}

// countingGo is a go command that appends a line to the file builds for
// every go build it runs, then runs the real go.
func countingGo(t *testing.T, dir string) (goBin, builds string) {
	t.Helper()
	realGo, err := exec.LookPath("go")
	require.NoError(t, err)
	builds = filepath.Join(dir, "builds")
	goBin = filepath.Join(dir, "go")
	require.NoError(t, os.WriteFile(goBin, []byte("#!/bin/sh\n"+
		"if [ \"$1\" = build ]; then echo build >> '"+builds+"'; fi\n"+
		"exec '"+realGo+"' \"$@\"\n"), 0o755))
	return goBin, builds
}

// TestPrepareConcurrentCompileOnce: invokes of the same new code that
// arrive together run go build once; the others wait for its zip.
func TestPrepareConcurrentCompileOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	goBin, builds := countingGo(t, dir)
	c, err := gosource.New(gosource.Config{CacheDir: filepath.Join(dir, "cache"), GoBin: goBin})
	require.NoError(t, err)

	const n = 4
	e := entity.Exec{Kind: "go:1.22", Code: owArray}
	results := make(chan entity.Exec, n)
	for range n {
		go func() {
			got, developerError, err := prepare(t, c, e)
			assert.NoError(t, err)
			assert.Empty(t, developerError)
			results <- got
		}()
	}
	first := <-results
	for range n - 1 {
		assert.Equal(t, first, <-results)
	}
	log, err := os.ReadFile(builds)
	require.NoError(t, err)
	assert.Equal(t, "build\n", string(log), "one go build for all of them")
}

// TestPrepareKeepsMaxCached: beyond MaxCached the least recently used
// compiled action is removed, and compiles again when it is next invoked.
func TestPrepareKeepsMaxCached(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	goBin, builds := countingGo(t, dir)
	cache := filepath.Join(dir, "cache")
	c, err := gosource.New(gosource.Config{CacheDir: cache, GoBin: goBin, MaxCached: 1})
	require.NoError(t, err)
	a := entity.Exec{Kind: "go:1.22", Code: owHello}
	b := entity.Exec{Kind: "go:1.22", Code: owArray}
	for _, e := range []entity.Exec{a, b, b, a} { // builds a, b, (b cached), a again
		_, developerError, err := prepare(t, c, e)
		require.NoError(t, err)
		require.Empty(t, developerError)
	}
	log, err := os.ReadFile(builds)
	require.NoError(t, err)
	assert.Equal(t, "build\nbuild\nbuild\n", string(log))
	zips, err := filepath.Glob(filepath.Join(cache, "*.zip"))
	require.NoError(t, err)
	assert.Len(t, zips, 1)
}

// TestPrepareRemembersFailures: code that does not compile fails again at
// once with the same developer error, without running go, until
// FailureTTL has passed; then it compiles again.
func TestPrepareRemembersFailures(t *testing.T) {
	t.Parallel()
	realGo, err := exec.LookPath("go")
	require.NoError(t, err)
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	countingGo := filepath.Join(dir, "go")
	require.NoError(t, os.WriteFile(countingGo, []byte("#!/bin/sh\necho run >> "+calls+"\nexec "+realGo+" \"$@\"\n"), 0o755))
	runs := func() int {
		b, err := os.ReadFile(calls)
		if os.IsNotExist(err) {
			return 0
		}
		require.NoError(t, err)
		return strings.Count(string(b), "run\n")
	}

	for _, tt := range []struct {
		name       string
		ttl        time.Duration
		remembered bool
	}{
		{"within the TTL: no compile", time.Hour, true},
		{"past the TTL: compiled again", time.Millisecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := gosource.New(gosource.Config{CacheDir: filepath.Join(dir, tt.name), GoBin: countingGo, FailureTTL: tt.ttl})
			require.NoError(t, err)
			e := entity.Exec{Kind: "go:1.22", Code: compileError}
			_, first, err := prepare(t, c, e)
			require.NoError(t, err)
			require.Contains(t, first, "undefined: undefinedThing")
			before := runs()
			require.Positive(t, before, "the first Prepare ran go")
			if !tt.remembered {
				time.Sleep(2 * tt.ttl)
			}
			_, again, err := prepare(t, c, e)
			require.NoError(t, err)
			assert.Equal(t, first, again, "the same developer error")
			if tt.remembered {
				assert.Equal(t, before, runs(), "go ran again for code that failed a moment ago")
			} else {
				assert.Greater(t, runs(), before, "an expired failure was not compiled again")
			}
			// Other code still compiles.
			_, developerError, err := prepare(t, c, entity.Exec{Kind: "go:1.22", Code: owHello})
			require.NoError(t, err)
			assert.Empty(t, developerError)
		})
	}
}
