package proxy

import (
	"bufio"
	"bytes"
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

// initRequest and initBodyRequest are named as upstream names them, so that
// encoding/json's messages for a value of the wrong type read the same
// ("… into Go struct field initBodyRequest.value.code of type string").
type initRequest struct {
	Value initBodyRequest `json:"value"`
}

type initBodyRequest struct {
	Code   string                     `json:"code"`
	Binary bool                       `json:"binary"`
	Main   string                     `json:"main"`
	Env    map[string]json.RawMessage `json:"env"`
}

func (s *Server) init(w http.ResponseWriter, r *http.Request) {
	if s.tracing != nil {
		span := s.tracing.startInit(r)
		status, msg := s.initialize(w, r)
		endInit(span, status, msg)
		if status == http.StatusOK {
			s.cold.Store(true)
		}
		s.answerInit(w, status, msg)
		return
	}
	status, msg := s.initialize(w, r)
	s.answerInit(w, status, msg)
}

func (s *Server) answerInit(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusOK {
		writeBody(w, http.StatusOK, []byte("{\"ok\":true}\n"))
		return
	}
	writeError(w, status, msg)
}

// initialize does an /init and returns the answer: 200, or the status and
// the error message. Its temporary file is gone before the answer is sent.
//
// The body is read, and checked as upstream checks it, before the init lock
// is taken, so that a client that is slow to send its body delays no other
// /init: of two, the first to have its body read and take the lock wins,
// and the other is refused as a second /init.
func (s *Server) initialize(w http.ResponseWriter, r *http.Request) (int, string) {
	if s.isInitialized() {
		return s.refuseSecondInit()
	}
	if r.ContentLength > s.cfg.MaxInitBody {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the /init body is %d bytes; the limit is %d", r.ContentLength, s.cfg.MaxInitBody)
	}
	sp := &spool{dir: s.cfg.ActionDir}
	defer sp.remove()
	req, err := decodeInit(r.Body, sp, initLimits{Body: s.cfg.MaxInitBody})
	endBodyDeadline(w)
	if err != nil {
		return initBodyError(err)
	}
	if !req.HasCode {
		return http.StatusForbidden, msgNoCode
	}
	if msg := checkInitEnv(req.Env); msg != "" {
		return http.StatusBadRequest, msg
	}
	if req.Binary && req.CodeErr != nil {
		return http.StatusBadRequest, "cannot decode the request: " + req.CodeErr.Error()
	}
	if !req.Binary && req.TextTooLong {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("the code is sent as text (binary false) and is larger than %d bytes: "+
			"send the action base64-encoded with binary true (wsk does so for a zip or an executable)", maxTextCode)
	}

	s.initMu.Lock()
	defer s.initMu.Unlock()
	if s.isInitialized() {
		return s.refuseSecondInit()
	}
	var code io.ReaderAt = bytes.NewReader(req.Text)
	size := int64(len(req.Text))
	if req.Binary {
		if code, size, err = sp.contents(req.SinkErr); err != nil {
			return s.initFailed("cannot store the action code: "+err.Error(), msgExtractLogged)
		}
	}
	dir, err := s.nextActionDir()
	if err != nil {
		return s.initFailed(err.Error(), msgExtractLogged)
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return s.initFailed("cannot create the action directory: "+err.Error(), msgExtractLogged)
	}
	if _, err := archive.ExtractFrom(code, size, binDir, archive.Limits{}); err != nil {
		_ = os.RemoveAll(dir)
		return s.initFailed(err.Error(), msgExtractLogged)
	}
	sp.remove() // extracted: the action may use the disk it took
	if isSource(binDir) {
		_ = os.RemoveAll(dir)
		if s.cfg.LogInitError {
			s.logInitError(msgSource)
		}
		return http.StatusBadGateway, msgSource
	}
	if err := s.checkExecutionEnv(binDir); err != nil {
		_ = os.RemoveAll(dir)
		return s.initFailed("cannot start action: "+err.Error(), msgInitLogged)
	}
	exe := filepath.Join(binDir, "exec")
	_ = os.Chmod(exe, 0o755)
	p, err := executor.Start(r.Context(), executor.Config{
		Path:          exe,
		Args0:         "./" + filepath.ToSlash(exe),
		Env:           s.actionEnv(req.Env),
		WaitForAck:    s.cfg.WaitForAck,
		AckTimeout:    s.cfg.AckTimeout,
		BusyPoll:      s.cfg.BusyPoll,
		BusyPollStats: &s.busyPoll,
		Stdout:        s.cfg.Stdout,
		Stderr:        s.cfg.Stderr,
		MaxLine:       s.cfg.MaxResult,
		OnFrame:       s.onFrame,
		OnStray:       s.onStray,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return s.initFailed("cannot start action: "+err.Error(), msgInitLogged)
	}
	s.mu.Lock()
	s.proc, s.initialized = p, true
	s.mu.Unlock()
	go s.watch(p)
	return http.StatusOK, ""
}

func (s *Server) isInitialized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initialized
}

// refuseSecondInit answers a second /init as upstream does, logging it too.
func (s *Server) refuseSecondInit() (int, string) {
	fmt.Fprintf(s.cfg.Stderr, "%s %s\n", time.Now().Format("2006/01/02 15:04:05"), msgInitTwice)
	return http.StatusForbidden, msgInitTwice
}

// initBodyError is the answer to a body decodeInit refused, in upstream's
// words where upstream has them.
func initBodyError(err error) (int, string) {
	var (
		rerr *initReadError
		jerr *initJSONError
	)
	switch {
	case errors.As(err, &rerr):
		return http.StatusBadRequest, bodyReadError(rerr.err)
	case errors.As(err, new(*initTooLargeError)), errors.As(err, new(*initFieldsError)):
		return http.StatusRequestEntityTooLarge, err.Error()
	case errors.As(err, &jerr):
		return http.StatusBadRequest, "Error unmarshaling request: " + jerr.err.Error()
	}
	return http.StatusBadRequest, "Error unmarshaling request: " + err.Error()
}

// checkInitEnv refuses an init env key that no environment variable can
// have: the action would otherwise see another variable than the one sent
// ("A=B": "x" is the variable A set to "B=x"), or none. It returns the
// answer's message, or "".
func checkInitEnv(env map[string]json.RawMessage) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case k == "":
			return "the /init env has an empty key: every key must be the name of an environment variable"
		case strings.IndexByte(k, 0) >= 0:
			return fmt.Sprintf("the /init env key %q contains NUL, which the name of an environment variable cannot hold", k)
		case strings.IndexByte(k, '=') >= 0:
			name, rest, _ := strings.Cut(k, "=")
			return fmt.Sprintf("the /init env key %q contains '=', which the name of an environment variable cannot hold: "+
				"the action would see %q set to %q instead", k, name, rest+"=…")
		}
		var v string
		if json.Unmarshal(env[k], &v) == nil && strings.IndexByte(v, 0) >= 0 {
			return fmt.Sprintf("the value of the /init env key %q contains NUL, which an environment variable cannot hold", k)
		}
	}
	return ""
}

// initFailed returns upstream's answer to an init failure: the detail, or,
// with OW_LOG_INIT_ERROR, the detail in the logs and a generic message.
func (s *Server) initFailed(detail, generic string) (int, string) {
	if !s.cfg.LogInitError {
		return http.StatusBadGateway, detail
	}
	s.logInitError(detail)
	return http.StatusBadGateway, generic
}

func (s *Server) logInitError(detail string) {
	fmt.Fprintln(s.cfg.Stderr, detail)
	fmt.Fprintln(s.cfg.Stdout, actionloop.Sentinel)
	fmt.Fprintln(s.cfg.Stderr, actionloop.Sentinel)
}

// spool is the temporary file the decoded /init code goes to, so that it is
// never in memory whole. It is created in ActionDir, on the file system the
// code is extracted to, rather than in /tmp, which a container may keep in
// memory; its name is not a number, so it is never taken for an action
// directory. It is created at the first byte and always removed.
type spool struct {
	dir  string
	f    *os.File
	w    *bufio.Writer
	size int64
	err  error // the first error: every later write fails with it
}

func (sp *spool) Write(p []byte) (int, error) {
	if sp.err != nil {
		return 0, sp.err
	}
	if sp.f == nil {
		if err := os.MkdirAll(sp.dir, 0o755); err != nil {
			sp.err = err
			return 0, err
		}
		f, err := os.CreateTemp(sp.dir, ".init-*.code")
		if err != nil {
			sp.err = err
			return 0, err
		}
		sp.f, sp.w = f, bufio.NewWriterSize(f, initReadChunk)
	}
	n, err := sp.w.Write(p)
	sp.size += int64(n)
	if err != nil {
		sp.err = err
	}
	return n, err
}

// Reset empties the file: a later "code" key replaces the earlier one.
func (sp *spool) Reset() error {
	if sp.f == nil || sp.err != nil {
		return sp.err
	}
	sp.w.Reset(sp.f)
	sp.size = 0
	if err := sp.f.Truncate(0); err != nil {
		sp.err = err
		return err
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		sp.err = err
		return err
	}
	return nil
}

// contents flushes the file and returns it to be read; werr is the first
// write error the decoder saw.
func (sp *spool) contents(werr error) (io.ReaderAt, int64, error) {
	if werr != nil {
		return nil, 0, werr
	}
	if sp.f == nil {
		return bytes.NewReader(nil), 0, sp.err
	}
	if err := sp.w.Flush(); err != nil {
		return nil, 0, err
	}
	return sp.f, sp.size, nil
}

func (sp *spool) remove() {
	if sp.f == nil {
		return
	}
	_ = sp.f.Close()
	_ = os.Remove(sp.f.Name())
	sp.f, sp.w = nil, nil
	if sp.err == nil {
		sp.err = os.ErrClosed
	}
}

// readBody reads at most limit bytes, answering 413 or 400 itself on
// failure, and lifts the body read deadline once it is done.
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
	endBodyDeadline(w)
	if err != nil {
		writeError(w, http.StatusBadRequest, bodyReadError(err))
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
