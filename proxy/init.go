package proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/proxy/archive"
	"github.com/epilogue-dev/epilogue/proxy/executor"
)

// Upstream's /init messages, which OpenWhisk users and tests match on.
const (
	msgInitTwice       = "Cannot initialize the action more than once."
	msgNoCode          = "Missing main/no code to execute."
	msgInitLogged      = "Cannot start action. Check logs for details."
	msgExtractLogged   = "The action failed to generate or locate a binary. See logs for details."
	msgExecEnvMismatch = "Execution environment version mismatch. See logs for details."
)

// msgSource is the answer to source code: this runtime never compiles.
const msgSource = "This runtime runs precompiled actions only, and the code is Go source. " +
	"Build it into a static linux/amd64 executable named exec in a zip with " +
	"'epilogue build DIR -o action.zip', then create the action from the zip: " +
	"wsk action create NAME --docker epilogue/action-go action.zip"

type initRequest struct {
	Value struct {
		Code   string                     `json:"code"`
		Binary bool                       `json:"binary"`
		Main   string                     `json:"main"`
		Env    map[string]json.RawMessage `json:"env"`
	} `json:"value"`
}

func (s *Server) init(w http.ResponseWriter, r *http.Request) {
	s.initMu.Lock()
	defer s.initMu.Unlock()
	s.mu.Lock()
	initialized := s.initialized
	s.mu.Unlock()
	if initialized {
		fmt.Fprintf(s.cfg.Stderr, "%s %s\n", time.Now().Format("2006/01/02 15:04:05"), msgInitTwice)
		writeError(w, http.StatusForbidden, msgInitTwice)
		return
	}
	body, ok := readBody(w, r, s.cfg.MaxInitBody, "/init")
	if !ok {
		return
	}
	var req initRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "Error unmarshaling request: "+err.Error())
		return
	}
	if req.Value.Code == "" {
		writeError(w, http.StatusForbidden, msgNoCode)
		return
	}
	code := []byte(req.Value.Code)
	if req.Value.Binary {
		decoded, err := base64.StdEncoding.DecodeString(req.Value.Code)
		if err != nil {
			writeError(w, http.StatusBadRequest, "cannot decode the request: "+err.Error())
			return
		}
		code = decoded
	}
	req.Value.Code = "" // the decoded copy is all we need; let the GC have the rest
	dir, err := s.nextActionDir()
	if err != nil {
		s.initFailed(w, err.Error(), msgExtractLogged)
		return
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.initFailed(w, "cannot create the action directory: "+err.Error(), msgExtractLogged)
		return
	}
	if _, err := archive.Extract(code, binDir, archive.Limits{}); err != nil {
		_ = os.RemoveAll(dir)
		s.initFailed(w, err.Error(), msgExtractLogged)
		return
	}
	if isSource(binDir) {
		_ = os.RemoveAll(dir)
		if s.cfg.LogInitError {
			s.logInitError(msgSource)
		}
		writeError(w, http.StatusBadGateway, msgSource)
		return
	}
	if err := s.checkExecutionEnv(binDir); err != nil {
		_ = os.RemoveAll(dir)
		s.initFailed(w, "cannot start action: "+err.Error(), msgInitLogged)
		return
	}
	exe := filepath.Join(binDir, "exec")
	_ = os.Chmod(exe, 0o755)
	p, err := executor.Start(r.Context(), executor.Config{
		Path:       exe,
		Args0:      "./" + filepath.ToSlash(exe),
		Env:        s.actionEnv(req.Value.Env),
		WaitForAck: s.cfg.WaitForAck,
		AckTimeout: s.cfg.AckTimeout,
		Stdout:     s.cfg.Stdout,
		Stderr:     s.cfg.Stderr,
		MaxLine:    s.cfg.MaxResult,
		OnFrame:    s.onFrame,
		OnStray:    s.onStray,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		s.initFailed(w, "cannot start action: "+err.Error(), msgInitLogged)
		return
	}
	s.mu.Lock()
	s.proc, s.initialized = p, true
	s.mu.Unlock()
	go s.watch(p)
	writeBody(w, http.StatusOK, []byte("{\"ok\":true}\n"))
}

// initFailed answers an init failure as upstream does: the detail in the body,
// or, with OW_LOG_INIT_ERROR, the detail in the logs and a generic body.
func (s *Server) initFailed(w http.ResponseWriter, detail, generic string) {
	if !s.cfg.LogInitError {
		writeError(w, http.StatusBadGateway, detail)
		return
	}
	s.logInitError(detail)
	writeError(w, http.StatusBadGateway, generic)
}

func (s *Server) logInitError(detail string) {
	fmt.Fprintln(s.cfg.Stderr, detail)
	fmt.Fprintln(s.cfg.Stdout, actionloop.Sentinel)
	fmt.Fprintln(s.cfg.Stderr, actionloop.Sentinel)
}

// readBody reads at most limit bytes, answering 413 or 400 itself on failure.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, bool) {
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the %s body is %d bytes; the limit is %d", what, r.ContentLength, limit))
		return nil, false
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Error reading request body: "+err.Error())
		return nil, false
	}
	if n > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the %s body is larger than the limit of %d bytes", what, limit))
		return nil, false
	}
	return buf.Bytes(), true
}

// nextActionDir returns ActionDir/N for N one more than the highest existing
// numeric entry, as upstream numbers its action directories.
func (s *Server) nextActionDir() (string, error) {
	if err := os.MkdirAll(s.cfg.ActionDir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create the action directory: %w", err)
	}
	entries, err := os.ReadDir(s.cfg.ActionDir)
	if err != nil {
		return "", fmt.Errorf("cannot read the action directory: %w", err)
	}
	highest := 0
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > highest {
			highest = n
		}
	}
	return filepath.Join(s.cfg.ActionDir, strconv.Itoa(highest+1)), nil
}

var goPackageClause = regexp.MustCompile(`(?m)^\s*package\s+[A-Za-z_]\w*\s*$`)

// isSource reports whether the unpacked code is Go source rather than a
// program: exec itself is Go source (upstream's Go image compiles it), or
// there is no exec but there are .go files.
func isSource(binDir string) bool {
	exe := filepath.Join(binDir, "exec")
	if f, err := os.Open(exe); err == nil {
		head := make([]byte, 4096)
		n, _ := io.ReadFull(f, head)
		_ = f.Close()
		head = head[:n]
		if bytes.HasPrefix(head, []byte("\x7fELF")) || bytes.HasPrefix(head, []byte("#!")) {
			return false
		}
		return goPackageClause.Match(head)
	}
	found := false
	_ = filepath.WalkDir(binDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// checkExecutionEnv enforces OW_EXECUTION_ENV as upstream does, including
// its message on stdout.
func (s *Server) checkExecutionEnv(binDir string) error {
	if s.cfg.ExecutionEnv == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(binDir, "exec.env"))
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(b)); got != s.cfg.ExecutionEnv {
		fmt.Fprintf(s.cfg.Stdout, "Expected exec.env should start with %s\nActual value: %s", s.cfg.ExecutionEnv, got)
		//lint:ignore ST1005 upstream's wording
		return errors.New(msgExecEnvMismatch)
	}
	return nil
}

// actionEnv builds the executable's whole environment, in upstream's order of
// precedence (later wins): proxy version, execution env, ack flag, the
// proxy's __OW_* variables, the init env. Like upstream, nothing else of the
// proxy's environment (PATH, HOME) is passed. Non-string init values are
// passed as their JSON text.
func (s *Server) actionEnv(initEnv map[string]json.RawMessage) []string {
	env := map[string]string{
		"__OW_PROXY_VERSION":    Version,
		actionloop.EnvExtension: strconv.Itoa(actionloop.Version),
	}
	if s.cfg.ExecutionEnv != "" {
		env["__OW_EXECUTION_ENV"] = s.cfg.ExecutionEnv
	}
	if s.cfg.WaitForAck {
		env[actionloop.EnvWaitForAck] = "1"
	}
	for k, v := range s.cfg.ActionEnv {
		env[k] = v
	}
	for k, raw := range initEnv {
		var str string
		if err := json.Unmarshal(raw, &str); err == nil {
			env[k] = str
		} else if string(raw) == "null" {
			env[k] = ""
		} else {
			// Re-encode as upstream does: compact, object keys sorted.
			var v any
			_ = json.Unmarshal(raw, &v)
			b, _ := json.Marshal(v)
			env[k] = string(b)
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
