package actionbuild

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Sentinels for what callers branch on.
var (
	// ErrNotGo: the directory does not exist, is not a directory, or has no
	// non-test .go files.
	ErrNotGo = errors.New("actionbuild: not a Go action directory")
	// ErrNoMain: the package is not main, or has no func main.
	ErrNoMain = errors.New("actionbuild: not a main package")
	// ErrCompile: go build failed; the error's message holds its whole output.
	ErrCompile = errors.New("actionbuild: go build failed")
)

// DefaultOutput is where the zip goes when Options.Output is empty.
const DefaultOutput = "action.zip"

// KillGrace bounds how long Build waits for go build's output pipes to close
// after ctx is done and go build has been killed (its compiler children may
// still hold them).
const KillGrace = 5 * time.Second

// zipTime is the modification time of the exec entry: fixed (the earliest
// time a zip can express) so that identical builds give identical zips.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Options says what to build and where.
type Options struct {
	// Dir is the action's source directory: a Go main package, anywhere,
	// with or without a go.mod of its own. Required.
	Dir string
	// Output is the zip to write; "" = DefaultOutput in the current directory.
	Output string
	// GoBin is the go command; "" = "go" from PATH.
	GoBin string
	// Stderr, if not nil, receives go build's output as it is produced.
	// nil = nothing is streamed. Either way, a failed build's complete output
	// is in the returned error.
	Stderr io.Writer
	// Env is extra environment for go build (e.g. GOFLAGS=-mod=vendor), added
	// after the parent's; nil = none. CGO_ENABLED, GOOS and GOARCH are always
	// 0, linux and amd64: the runtime image runs static amd64 executables.
	Env []string
	// CacheDir is where the SDK carried in this binary is written for the
	// builds that need it (under sdk/<content hash>); "" = the user's cache
	// directory's epilogue (e.g. ~/.cache/epilogue).
	CacheDir string
}

// Result describes a successful build.
type Result struct {
	Output    string        // the zip written (Options.Output, or DefaultOutput)
	ExecBytes int64         // size of the executable
	ZipBytes  int64         // size of the zip
	Duration  time.Duration // the whole build, checks and zip included
}

// buildError carries a message written for the user and the sentinel (and
// cause, if any) that callers match with errors.Is.
type buildError struct {
	msg    string
	errs   []error
	output string // go build's output, for ErrCompile (CompilerOutput)
}

func (e *buildError) Error() string   { return e.msg }
func (e *buildError) Unwrap() []error { return e.errs }

func newError(msg string, errs ...error) error { return &buildError{msg: msg, errs: errs} }

// CompilerOutput returns go build's own output from an error wrapping
// ErrCompile, without Build's framing (the directory, what Build did to the
// module): what a runtime that compiles source shows its developer. It is ""
// for any other error.
func CompilerOutput(err error) string {
	var be *buildError
	if errors.As(err, &be) {
		return be.output
	}
	return ""
}

// Build compiles the main package in opt.Dir into a static linux/amd64
// executable and writes it, as the single entry exec, to the zip
// opt.Output. go build runs in opt.Dir and is killed when ctx is done. On
// failure nothing is written at opt.Output (an existing file there is left
// as it was).
func Build(ctx context.Context, opt Options) (Result, error) {
	start := time.Now()
	if opt.Output == "" {
		opt.Output = DefaultOutput
	}
	if err := checkSource(opt.Dir); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("actionbuild: build of %s stopped: %w", opt.Dir, err)
	}
	tmp, err := os.MkdirTemp("", "epilogue-build-")
	if err != nil {
		return Result{}, fmt.Errorf("actionbuild: cannot create a build directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	exe, err := filepath.Abs(filepath.Join(tmp, "exec"))
	if err != nil {
		return Result{}, fmt.Errorf("actionbuild: %w", err)
	}
	if err := compile(ctx, opt, tmp, exe); err != nil {
		return Result{}, err
	}
	execBytes, err := checkELF(exe)
	if err != nil {
		return Result{}, err
	}
	zipBytes, err := writeZip(exe, opt.Output)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: opt.Output, ExecBytes: execBytes, ZipBytes: zipBytes, Duration: time.Since(start)}, nil
}

// checkSource catches the common mistakes before go build does, with
// messages that say what to do. It is deliberately loose about build
// constraints: a directory passes if any non-test .go file is package main
// and any of those declares func main. Files that do not parse are left to
// go build, which reports them with file:line.
func checkSource(dir string) error {
	if dir == "" {
		return newError("actionbuild: no directory given: point epilogue build at the directory of your action's main package", ErrNotGo)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return newError(fmt.Sprintf("actionbuild: %s does not exist: point epilogue build at the directory of your action's main package", dir), ErrNotGo, err)
		}
		return newError(fmt.Sprintf("actionbuild: cannot read %s: %v", dir, err), ErrNotGo, err)
	}
	if !fi.IsDir() {
		return newError(fmt.Sprintf("actionbuild: %s is not a directory: point epilogue build at the directory of your action's main package, not at a file", dir), ErrNotGo)
	}
	files, err := goFiles(dir)
	if err != nil {
		return newError(fmt.Sprintf("actionbuild: cannot read %s: %v", dir, err), ErrNotGo, err)
	}
	if len(files) == 0 {
		return newError(fmt.Sprintf("actionbuild: %s has no Go files: point epilogue build at the directory of your action's main package", dir), ErrNotGo)
	}

	var other string // the first package name that is not main
	isMain, hasMain, unparsed := false, false, false
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			unparsed = true
		}
		if f == nil || f.Name == nil || f.Name.Name == "_" {
			continue
		}
		if f.Name.Name != "main" {
			if other == "" {
				other = f.Name.Name
			}
			continue
		}
		isMain = true
		hasMain = hasMain || declaresMain(f)
	}
	switch {
	case unparsed && !hasMain:
		return nil // let go build say where the syntax error is
	case !isMain && other != "":
		return newError(fmt.Sprintf("actionbuild: %s is package %s, not main: an action is a main package whose main calls sdk.Run", dir, other), ErrNoMain)
	case !hasMain:
		return newError(fmt.Sprintf("actionbuild: %s has no func main: an action is a main package whose main calls sdk.Run", dir), ErrNoMain)
	}
	return nil
}

// goFiles lists the .go files go build would consider, before build
// constraints: not tests, not hidden, not starting with '_'. Sorted.
func goFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") ||
			strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
			continue
		}
		files = append(files, n)
	}
	sort.Strings(files)
	return files, nil
}

func declaresMain(f *ast.File) bool {
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" {
			return true
		}
	}
	return false
}

// compile runs go build in opt.Dir, writing the executable to exe, with
// the SDK wired in (wireSDK) through files in tmp.
func compile(ctx context.Context, opt Options, tmp, exe string) error {
	goBin := opt.GoBin
	if goBin == "" {
		goBin = "go"
	}
	path, err := exec.LookPath(goBin)
	if err != nil {
		return fmt.Errorf("actionbuild: cannot find the go command %q: install Go or say where it is: %w", goBin, err)
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return fmt.Errorf("actionbuild: %w", err)
	}
	// Later entries win: the target is fixed whatever the parent or opt.Env
	// say. PWD is the directory as named here, so that go sees it by the
	// same path as the -overlay entry for its go.mod, symbolic links or not.
	env := append(append(os.Environ(), opt.Env...), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "PWD="+dir)
	wired, err := wireSDK(ctx, path, env, opt, tmp)
	if err != nil {
		return err
	}
	args := append(append([]string{"build"}, wired.args...), "-trimpath", "-ldflags", "-s -w", "-o", exe, ".")
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = opt.Dir
	cmd.Env = env
	var out bytes.Buffer
	var w io.Writer = &out
	if opt.Stderr != nil {
		w = io.MultiWriter(&out, opt.Stderr)
	}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.WaitDelay = KillGrace
	err = cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("actionbuild: build of %s stopped: %w", opt.Dir, ctxErr)
	}
	if err != nil {
		output := strings.TrimRight(out.String(), "\n")
		if output == "" {
			output = err.Error()
		}
		msg := output
		if wired.note != "" {
			msg += "\n(" + wired.note + ")"
		}
		return &buildError{msg: fmt.Sprintf("actionbuild: go build in %s failed:\n%s", opt.Dir, msg), errs: []error{ErrCompile, err}, output: output}
	}
	return nil
}

// checkELF makes sure go build wrote what the runtime can run, and returns
// its size.
func checkELF(exe string) (int64, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return 0, fmt.Errorf("actionbuild: go build wrote %s, which is not an ELF executable: %w", exe, err)
	}
	defer func() { _ = f.Close() }()
	if f.Machine != elf.EM_X86_64 {
		return 0, fmt.Errorf("actionbuild: go build wrote an executable for %s, not x86-64", f.Machine)
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return 0, fmt.Errorf("actionbuild: %w", err)
	}
	return fi.Size(), nil
}

// writeZip writes exe as the single entry exec of the zip output, through a
// temporary file in output's directory renamed into place, and returns the
// zip's size.
func writeZip(exe, output string) (size int64, err error) {
	in, err := os.Open(exe)
	if err != nil {
		return 0, fmt.Errorf("actionbuild: %w", err)
	}
	defer func() { _ = in.Close() }()
	// Like go build -o, create the output's directory when it is missing.
	if err := os.MkdirAll(filepath.Dir(output), 0o755); err != nil {
		return 0, fmt.Errorf("actionbuild: cannot create the directory for %s: %w", output, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("actionbuild: cannot write %s: %w", output, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	zw := zip.NewWriter(tmp)
	hdr := &zip.FileHeader{Name: "exec", Method: zip.Deflate, Modified: zipTime}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return 0, fmt.Errorf("actionbuild: cannot write %s: %w", output, err)
	}
	if _, err = io.Copy(w, in); err != nil {
		return 0, fmt.Errorf("actionbuild: cannot write %s: %w", output, err)
	}
	if err = zw.Close(); err != nil {
		return 0, fmt.Errorf("actionbuild: cannot write %s: %w", output, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return 0, fmt.Errorf("actionbuild: cannot write %s: %w", output, err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return 0, fmt.Errorf("actionbuild: cannot write %s: %w", output, err)
	}
	if err = tmp.Close(); err != nil {
		return 0, fmt.Errorf("actionbuild: cannot write %s: %w", output, err)
	}
	if err = os.Rename(tmp.Name(), output); err != nil {
		return 0, fmt.Errorf("actionbuild: cannot write %s: %w", output, err)
	}
	return fi.Size(), nil
}
