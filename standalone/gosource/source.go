package gosource

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/proxy/archive"
	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// File names in the source directory, as OpenWhisk's Go runtime names
// them, so that the compiler's messages name the same files: a single
// source file is exec__.go, the generated launcher main__.go.
const (
	sourceFile   = "exec__.go"
	launcherFile = "main__.go"
	// execFile is where a zip keeps its compiled executable (or, in
	// OpenWhisk's Go runtime, its single source file).
	execFile = "exec"
)

// shapeHint says what Go code this server runs, for the messages about
// code that is neither shape.
const shapeHint = "write package main with func Main(obj map[string]interface{}) map[string]interface{} " +
	"(or the function --main names), or a main package whose func main calls sdk.Run"

// sourceTree is what writeSource made of an exec's code.
type sourceTree struct {
	// prebuilt: the code is a compiled executable (exec in a zip, or the
	// whole code); it runs as it is. code is then the decoded code.
	prebuilt bool
	code     []byte
	// problem, when set, is why the code cannot be a Go action: the
	// developer's error.
	problem string
	// hint is shapeHint, for a build that finds no main package.
	hint string
}

// writeSource writes e's code as a Go main package into dir (which must
// not exist) and, when no file declares func main, adds the launcher that
// serves e's function. A zip is unpacked with proxy/archive's checks (no
// path outside dir, bounded size and entry count). err is the platform's
// failure (dir cannot be written); what is wrong with the code is the
// tree's problem.
func writeSource(e entity.Exec, dir string) (sourceTree, error) {
	tree := sourceTree{hint: shapeHint}
	if e.Binary {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(e.Code))
		if err != nil {
			tree.problem = "The action's code is not valid base64: " + err.Error()
			return tree, nil
		}
		if _, err := archive.Extract(data, dir, archive.Limits{}); err != nil {
			tree.problem = "The action's code cannot be unpacked: " + err.Error()
			return tree, nil
		}
		isExec, err := compiledExec(filepath.Join(dir, execFile))
		if err != nil || isExec {
			tree.prebuilt = isExec
			tree.code = data
			return tree, err
		}
	} else {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return tree, fmt.Errorf("gosource: cannot create the source directory: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, sourceFile), []byte(e.Code), 0o644); err != nil {
			return tree, fmt.Errorf("gosource: cannot write the action's source: %w", err)
		}
	}
	if err := ensureGoMod(dir); err != nil {
		return tree, err
	}
	hasMain, err := declaresMain(dir)
	if err != nil || hasMain {
		return tree, err
	}
	fn, ok := mainFunc(e.Main)
	if !ok {
		tree.problem = fmt.Sprintf("The action's main %q is not the name of a Go function: %s.", e.Main, shapeHint)
		return tree, nil
	}
	if err := os.WriteFile(filepath.Join(dir, launcherFile), launcher(fn), 0o644); err != nil {
		return tree, fmt.Errorf("gosource: cannot write the launcher: %w", err)
	}
	return tree, nil
}

// ensureGoMod gives code without a go.mod the one OpenWhisk's Go runtime
// makes (go mod init exec), so that go build names the package "exec" in
// its messages as there. actionbuild adds the SDK to it.
func ensureGoMod(dir string) error {
	path := filepath.Join(dir, "go.mod")
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // the module's own, or something go build will report
	}
	mod := "module exec\n\ngo " + actionbuild.CarriedSDK().GoVersion + "\n"
	if err := os.WriteFile(path, []byte(mod), 0o644); err != nil {
		return fmt.Errorf("gosource: cannot write go.mod: %w", err)
	}
	return nil
}

// elfMagic starts every ELF executable.
var elfMagic = []byte("\x7fELF")

// compiledExec reports whether path is a compiled executable. A source
// file named exec (OpenWhisk's Go runtime compiles one) is renamed to
// exec__.go, as that runtime does.
func compiledExec(path string) (bool, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		// A directory named exec, say: go build sees it as a package.
		return false, nil
	case bytes.HasPrefix(data, elfMagic):
		return true, nil
	}
	if err := os.Rename(path, filepath.Join(filepath.Dir(path), sourceFile)); err != nil {
		return false, fmt.Errorf("gosource: %w", err)
	}
	return false, nil
}

// declaresMain reports whether a .go file at the top of dir declares func
// main in package main: then the code is a program of its own (an SDK
// action) and gets no launcher. A file that does not parse is left to the
// compiler, which says where it is wrong.
func declaresMain(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("gosource: %w", err)
	}
	fset := token.NewFileSet()
	for _, en := range entries {
		n := en.Name()
		if !en.Type().IsRegular() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil || f.Name.Name != "main" {
			continue
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == "main" {
				return true, nil
			}
		}
	}
	return false, nil
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// mainFunc is the function exec.main names, as OpenWhisk's Go runtime
// finds it: "" is Main; else the name capitalized like Python's
// str.capitalize (first letter upper, the rest lower: "hello" → Hello,
// "helloWorld" → Helloworld).
func mainFunc(main string) (string, bool) {
	if main == "" {
		return "Main", true
	}
	if !identifier.MatchString(main) {
		return "", false
	}
	return strings.ToUpper(main[:1]) + strings.ToLower(main[1:]), true
}
