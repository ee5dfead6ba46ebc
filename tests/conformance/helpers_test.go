package conformance

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/internal/syncbuf"
)

// sentinel is the line OpenWhisk's log collector waits for on both streams.
const sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// Bounds for waits. Every wait in the suite is bounded by one of these;
// the first three are far above what a loaded machine needs, and a passing
// test never waits on them. stableFor is the one wait a passing test does:
// how long a count must stay put to count as settled.
const (
	startTimeout   = time.Minute     // the proxy's port accepts connections
	requestTimeout = 2 * time.Minute // any single HTTP exchange
	logSettle      = time.Minute     // asynchronous log output shows up
	stableFor      = 100 * time.Millisecond
	// awaitBound is /epilogue/await's timeout where the awaited work ends
	// by itself: above requestTimeout, so an await that wrongly waits
	// fails on the client's bound.
	awaitBound = "5m"
	// forever is a linger_ms that outlasts any test: work that is pending,
	// by construction, for as long as a test looks.
	forever = 3_600_000
)

var (
	proxyBin   string // the built cmd/epilogue-proxy
	fixtureBin string // the built tests/testaction (static)
	fixtureELF []byte // its bytes
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	// Most tests spend their time waiting on timers and child processes,
	// not on the CPU: unless -parallel was given, run more of them at once
	// than GOMAXPROCS (2 on small CI machines) would.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "4")
	}

	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "epilogue-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	proxyBin = filepath.Join(dir, "epilogue-proxy")
	fixtureBin = filepath.Join(dir, "exec")
	if err := goBuild(root, nil, proxyBin, "./cmd/epilogue-proxy"); err != nil {
		fmt.Fprintln(os.Stderr, "conformance: cannot build the proxy:", err)
		return 1
	}
	if err := goBuild(root, []string{"CGO_ENABLED=0"}, fixtureBin, "./tests/testaction"); err != nil {
		fmt.Fprintln(os.Stderr, "conformance: cannot build the test action:", err)
		return 1
	}
	fixtureELF, err = os.ReadFile(fixtureBin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	return m.Run()
}

// moduleRoot is the directory of the go.mod that contains this package.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

func goBuild(root string, env []string, out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -o %s %s: %w\n%s", out, pkg, err, b)
	}
	return nil
}

// proxy is one running epilogue-proxy process.
type proxy struct {
	addr   string // 127.0.0.1:port
	url    string // http://addr
	cwd    string // its working directory; code lands in cwd/action/N/bin
	cmd    *exec.Cmd
	stdout *syncbuf.Buffer
	stderr *syncbuf.Buffer
	exited chan struct{}
	client *http.Client
}

type proxyConfig struct {
	env           map[string]string
	cwd           string
	noWait        bool
	defaultListen bool
}

type option func(*proxyConfig)

// withEnv adds variables to the proxy's environment: "K=V" strings.
func withEnv(kvs ...string) option {
	return func(c *proxyConfig) {
		for _, kv := range kvs {
			k, v, _ := strings.Cut(kv, "=")
			c.env[k] = v
		}
	}
}

// withCwd runs the proxy in dir instead of a fresh t.TempDir().
func withCwd(dir string) option { return func(c *proxyConfig) { c.cwd = dir } }

// noWait returns as soon as the process has started, without waiting for
// its port to accept connections.
func noWait() option { return func(c *proxyConfig) { c.noWait = true } }

// defaultListen leaves EPILOGUE_LISTEN unset, so the proxy listens on its
// default :8080.
func defaultListen() option { return func(c *proxyConfig) { c.defaultListen = true } }

// freeAddr picks a free loopback port by listening on port 0 and closing.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startProxy starts a fresh proxy for t and waits (bounded) until its port
// accepts connections. The process is killed when t ends.
func startProxy(t *testing.T, opts ...option) *proxy {
	t.Helper()
	cfg := proxyConfig{env: map[string]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.cwd == "" {
		cfg.cwd = t.TempDir()
	}
	var lastErr string
	for attempt := 0; attempt < 3; attempt++ {
		p, err := launch(t, cfg)
		if err == nil {
			return p
		}
		// Another process may have taken the port between our probe and the
		// proxy's listen; try another port.
		lastErr = err.Error()
		if !strings.Contains(lastErr, "address already in use") {
			break
		}
	}
	t.Fatalf("the proxy did not start: %s", lastErr)
	return nil
}

func launch(t *testing.T, cfg proxyConfig) (*proxy, error) {
	t.Helper()
	env := map[string]string{
		"PATH":                 "/usr/local/bin:/usr/bin:/bin",
		completion.EnvInstance: fmt.Sprintf("conformance-%d-%d", os.Getpid(), launches.Add(1)),
	}
	addr := "127.0.0.1:8080"
	if !cfg.defaultListen {
		addr = freeAddr(t)
		env[completion.EnvListen] = addr
	}
	for k, v := range cfg.env {
		env[k] = v
	}
	p := &proxy{
		addr: addr, url: "http://" + addr, cwd: cfg.cwd,
		stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{},
		exited: make(chan struct{}),
		client: &http.Client{Timeout: requestTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
	}
	cmd := exec.Command(proxyBin)
	cmd.Dir = cfg.cwd
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.WaitDelay = 2 * time.Second
	require.NoError(t, cmd.Start())
	p.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.stop)
	if cfg.noWait {
		return p, nil
	}
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			_ = c.Close()
			// Another test run beside this one may have taken the port
			// between freeAddr and the proxy's listen: then the dial reached
			// its proxy, and ours failed with "address already in use".
			if mine, err := p.isInstance(env[completion.EnvInstance]); !mine {
				p.stop()
				return nil, fmt.Errorf("%s answers, but not as this proxy (%v): address already in use; stderr: %q", addr, err, p.stderr.String())
			}
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("the proxy exited before listening on %s; stderr: %q", addr, p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("nothing accepted connections on %s within %s; stderr: %q", addr, startTimeout, p.stderr.String())
		}
	}
}

// launches numbers the proxies this test binary starts, for their instance names.
var launches atomic.Int64

// isInstance reports whether the proxy answering at p.addr is the one named instance.
func (p *proxy) isInstance(instance string) (bool, error) {
	resp, err := p.client.Get(p.url + completion.StatusPath)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var snap struct {
		Instance string `json:"instance"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		return false, err
	}
	if snap.Instance != instance {
		return false, fmt.Errorf("it is instance %q", snap.Instance)
	}
	return true, nil
}

// stop kills the proxy (its children die with it: they run with a
// parent-death signal) and waits, bounded, for it to exit.
func (p *proxy) stop() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
	p.client.CloseIdleConnections()
}

// response is one HTTP exchange's outcome.
type response struct {
	Status           int
	Body             []byte
	Header           http.Header
	ContentLength    int64
	TransferEncoding []string
	Elapsed          time.Duration
}

func (r *response) String() string {
	return fmt.Sprintf("%d %q", r.Status, r.Body)
}

// errorText is the "error" field of a JSON error body; it fails the test if
// the body is not a JSON object with a string "error".
func (r *response) errorText(t *testing.T) string {
	t.Helper()
	var e struct {
		Error *string `json:"error"`
	}
	require.NoErrorf(t, json.Unmarshal(r.Body, &e), "body is not JSON: got %q", r.Body)
	require.NotNilf(t, e.Error, "body has no \"error\" field: got %q", r.Body)
	return *e.Error
}

// requireError checks an upstream-style error answer: the status and the
// exact {"error": msg} object.
func (r *response) requireError(t *testing.T, status int, msg string) {
	t.Helper()
	require.Equalf(t, status, r.Status, "status: got %s; want %d", r, status)
	assert.Equalf(t, msg, r.errorText(t), "error: got %q; want %q", r.errorText(t), msg)
	r.requireFramed(t)
}

// requireFramed checks Content-Type: application/json and an explicit
// Content-Length equal to the body (never chunked).
func (r *response) requireFramed(t *testing.T) {
	t.Helper()
	assert.Equalf(t, "application/json", r.Header.Get("Content-Type"), "Content-Type of %s", r)
	assert.Emptyf(t, r.TransferEncoding, "Transfer-Encoding of %s: got %q; want none", r, r.TransferEncoding)
	assert.Equalf(t, int64(len(r.Body)), r.ContentLength, "Content-Length of %s: got %d; want %d", r, r.ContentLength, len(r.Body))
}

// requireJSON checks a 200 whose body is JSON-equal to want.
func (r *response) requireJSON(t *testing.T, want string) {
	t.Helper()
	require.Equalf(t, http.StatusOK, r.Status, "status: got %s; want 200", r)
	require.JSONEqf(t, want, string(r.Body), "body: got %q; want %q", r.Body, want)
}

// requireOK checks a 200.
func (r *response) requireOK(t *testing.T) {
	t.Helper()
	require.Equalf(t, http.StatusOK, r.Status, "status: got %s; want 200", r)
}

// do performs one request with p's client.
func (p *proxy) do(t *testing.T, method, path, body string) *response {
	t.Helper()
	return doWith(t, p.client, method, p.url+path, body)
}

func doWith(t *testing.T, c *http.Client, method, url, body string) *response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := c.Do(req)
	require.NoErrorf(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoErrorf(t, err, "reading the body of %s %s", method, url)
	return &response{
		Status: resp.StatusCode, Body: b, Header: resp.Header,
		ContentLength: resp.ContentLength, TransferEncoding: resp.TransferEncoding,
		Elapsed: time.Since(start),
	}
}

// post is do with POST.
func (p *proxy) post(t *testing.T, path, body string) *response {
	t.Helper()
	return p.do(t, http.MethodPost, path, body)
}

// get is do with GET.
func (p *proxy) get(t *testing.T, path string) *response {
	t.Helper()
	return p.do(t, http.MethodGet, path, "")
}

// init posts an /init body.
func (p *proxy) init(t *testing.T, body string) *response {
	t.Helper()
	return p.post(t, "/init", body)
}

// mustInit posts an /init body and requires 200.
func (p *proxy) mustInit(t *testing.T, body string) {
	t.Helper()
	r := p.init(t, body)
	require.Equalf(t, http.StatusOK, r.Status, "/init: got %s; want 200", r)
}

// run posts {"value": value, ...context} to /run.
func (p *proxy) run(t *testing.T, value any, context ...string) *response {
	t.Helper()
	return p.post(t, "/run", runBody(t, value, context...))
}

// runBody builds a /run body: the value and context keys given as
// "key=value" strings (always JSON strings, as the invoker sends them).
func runBody(t *testing.T, value any, context ...string) string {
	t.Helper()
	m := map[string]any{"value": value}
	for _, kv := range context {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

// obj is shorthand for a JSON object value.
type obj = map[string]any

// ---- logs ----

// countSentinels counts lines equal to the sentinel.
func countSentinels(s string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if line == sentinel {
			n++
		}
	}
	return n
}

// stripSentinels removes the sentinel lines.
func stripSentinels(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.TrimSuffix(line, "\n") == sentinel {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// expectSentinels waits (bounded) until both streams hold n sentinels and
// checks that the count then stays put for a moment.
func (p *proxy) expectSentinels(t *testing.T, n int) {
	t.Helper()
	counts := func() (int, int) { return countSentinels(p.stdout.String()), countSentinels(p.stderr.String()) }
	deadline := time.Now().Add(logSettle)
	for {
		o, e := counts()
		if (o == n && e == n) || o > n || e > n || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(stableFor)
	o, e := counts()
	assert.Equalf(t, n, o, "sentinels on stdout: got %d; want %d; stdout %q", o, n, p.stdout.String())
	assert.Equalf(t, n, e, "sentinels on stderr: got %d; want %d; stderr %q", e, n, p.stderr.String())
}

// expectLogs checks n sentinels per stream and that, without them, the
// streams hold exactly what the action printed (D5).
func (p *proxy) expectLogs(t *testing.T, n int, wantStdout, wantStderr string) {
	t.Helper()
	p.expectSentinels(t, n)
	gotOut, gotErr := stripSentinels(p.stdout.String()), stripSentinels(p.stderr.String())
	assert.Equalf(t, wantStdout, gotOut, "stdout without sentinels: got %q; want %q", gotOut, wantStdout)
	assert.Equalf(t, wantStderr, gotErr, "stderr without sentinels: got %q; want %q", gotErr, wantStderr)
}

// hasChildren reports whether process pid has a child process (Linux
// /proc/PID/task/TID/children), a zombie not yet reaped included.
func hasChildren(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		if b, err := os.ReadFile(f); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return true
		}
	}
	return false
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- /init payloads ----

// initBody builds {"value":{"name","main","binary","code","env"}}; a nil env
// is omitted, as the invoker omits an empty one. Binary code is spliced in
// as is (base64 needs no JSON escaping): encoding megabytes through
// encoding/json is slow under -race.
func initBody(t *testing.T, code string, binary bool, main string, env map[string]any) string {
	t.Helper()
	if main == "" {
		main = "main"
	}
	v := map[string]any{"name": "conformance", "main": main, "binary": binary}
	if env != nil {
		v["env"] = env
	}
	rest, err := json.Marshal(map[string]any{"value": v})
	require.NoError(t, err)
	codeJSON := `"` + code + `"`
	if !binary {
		b, err := json.Marshal(code)
		require.NoError(t, err)
		codeJSON = string(b)
	}
	const prefix = `{"value":{`
	require.True(t, strings.HasPrefix(string(rest), prefix))
	return prefix + `"code":` + codeJSON + "," + string(rest[len(prefix):])
}

// entry is one archive member. Link makes it a symlink; Hard a hard link
// (tar only); Dir a directory.
type entry struct {
	Name string
	Body []byte
	Mode fs.FileMode
	Link string
	Hard string
	Dir  bool
}

func execEntry() entry { return entry{Name: "exec", Body: fixtureELF, Mode: 0o755} }

// zipBytes builds a zip of entries. Regular files are stored (not
// compressed) to keep the suite fast, except when deflate is set.
func zipBytes(t *testing.T, deflate bool, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// Fastest deflate: flate is slow under -race.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Store}
		if deflate {
			h.Method = zip.Deflate
		}
		body := e.Body
		switch {
		case e.Link != "":
			h.SetMode(fs.ModeSymlink | 0o777)
			h.Method = zip.Store
			body = []byte(e.Link)
		case e.Dir:
			h.Name = strings.TrimSuffix(e.Name, "/") + "/"
			h.SetMode(fs.ModeDir | 0o755)
		default:
			mode := e.Mode
			if mode == 0 {
				mode = 0o644
			}
			h.SetMode(mode)
		}
		w, err := zw.CreateHeader(h)
		require.NoError(t, err)
		_, err = w.Write(body)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func zipB64(t *testing.T, entries ...entry) string {
	t.Helper()
	return base64.StdEncoding.EncodeToString(zipBytes(t, false, entries...))
}

var (
	fixtureZipOnce sync.Once
	fixtureZip     string
	fixtureB64Once sync.Once
	fixtureB64     string
)

// fixtureELFB64 is the base64 of the raw fixture ELF, encoded once.
func fixtureELFB64() string {
	fixtureB64Once.Do(func() { fixtureB64 = base64.StdEncoding.EncodeToString(fixtureELF) })
	return fixtureB64
}

// fixtureZipB64 is the base64 of a deflated zip holding only the fixture as
// exec, built once.
func fixtureZipB64(t *testing.T) string {
	t.Helper()
	fixtureZipOnce.Do(func() {
		fixtureZip = base64.StdEncoding.EncodeToString(zipBytes(t, true, execEntry()))
	})
	require.NotEmpty(t, fixtureZip)
	return fixtureZip
}

// fixtureInit is the /init body for the fixture zip with env.
func fixtureInit(t *testing.T, env map[string]any) string {
	t.Helper()
	return initBody(t, fixtureZipB64(t), true, "main", env)
}

// tarGzB64 builds a base64 tar.gz of entries.
func tarGzB64(t *testing.T, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	require.NoError(t, err)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: int64(e.Mode.Perm()), ModTime: time.Unix(1700000000, 0)}
		switch {
		case e.Link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.Link, 0o777
		case e.Hard != "":
			h.Typeflag, h.Linkname = tar.TypeLink, e.Hard
		case e.Dir:
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Body))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		require.NoError(t, tw.WriteHeader(h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write(e.Body)
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// bombZipB64 builds a zip whose single entry inflates to size bytes of
// zeros (a multiple of 1 MiB) without ever holding them in memory: one MiB
// of zeros is deflated once, with a sync flush so it ends on a byte
// boundary and is self-contained, and that segment is repeated, followed by
// a final empty block. With lie, the headers claim 1 KiB uncompressed.
func bombZipB64(t *testing.T, name string, size int64, lie bool) string {
	t.Helper()
	const mib = 1 << 20
	zero := make([]byte, mib)
	var seg, tail bytes.Buffer
	fw, err := flate.NewWriter(&seg, flate.BestCompression)
	require.NoError(t, err)
	_, err = fw.Write(zero)
	require.NoError(t, err)
	require.NoError(t, fw.Flush())
	fw2, err := flate.NewWriter(&tail, flate.BestCompression)
	require.NoError(t, err)
	require.NoError(t, fw2.Close())

	n := int(size / mib)
	crc := crc32.NewIEEE()
	for i := 0; i < n; i++ {
		_, _ = crc.Write(zero)
	}
	h := &zip.FileHeader{
		Name: name, Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64:   uint64(seg.Len()*n + tail.Len()),
		UncompressedSize64: uint64(size),
	}
	if lie {
		h.UncompressedSize64 = 1024
	}
	h.SetMode(0o755)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(h)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		_, err = w.Write(seg.Bytes())
		require.NoError(t, err)
	}
	_, err = w.Write(tail.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// bashAction is an ActionLoop executable in bash: optional ack, then for
// every stdin line, body (which sees the request as $line) writes one line
// on fd 3.
func bashAction(body string) string {
	return "#!/bin/bash\n" +
		"if [ -n \"$__OW_WAIT_FOR_ACK\" ]; then echo '{\"ok\":true}' >&3; fi\n" +
		"while IFS= read -r line; do\n" + body + "\ndone\n"
}

// exitELF is the smallest static linux/amd64 program: it calls exit(3) as
// its first instruction, so it is gone within microseconds of execve
// (the fixture's Go runtime start-up alone takes milliseconds).
func exitELF() []byte {
	const base, ehdr, phdr = 0x400000, 64, 56
	code := []byte{
		0xbf, 0x03, 0x00, 0x00, 0x00, // mov edi, 3
		0xb8, 0x3c, 0x00, 0x00, 0x00, // mov eax, 60 (exit)
		0x0f, 0x05, // syscall
	}
	size := uint64(ehdr + phdr + len(code))
	b := make([]byte, 0, size)
	le := binary.LittleEndian
	b = append(b, 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	b = le.AppendUint16(b, 2)    // ET_EXEC
	b = le.AppendUint16(b, 0x3e) // EM_X86_64
	b = le.AppendUint32(b, 1)
	b = le.AppendUint64(b, base+ehdr+phdr) // entry
	b = le.AppendUint64(b, ehdr)           // phoff
	b = le.AppendUint64(b, 0)              // shoff
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, ehdr)
	b = le.AppendUint16(b, phdr)
	b = le.AppendUint16(b, 1) // phnum
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 1) // PT_LOAD
	b = le.AppendUint32(b, 5) // R+X
	b = le.AppendUint64(b, 0)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, 0x1000)
	return append(b, code...)
}

// goSource is a Go program as source text.
const goSource = "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n"

// ---- raw HTTP ----

// rawExchange sends req over a fresh TCP connection and returns the
// response's status line and header lines exactly as sent, and its body.
func rawExchange(t *testing.T, addr, req string) (head []string, body []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(requestTimeout)))
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	all, err := io.ReadAll(bufio.NewReader(c))
	require.NoError(t, err)
	i := bytes.Index(all, []byte("\r\n\r\n"))
	require.GreaterOrEqualf(t, i, 0, "no end of header in %q", all)
	return strings.Split(string(all[:i]), "\r\n"), all[i+4:]
}

// rawPost builds an HTTP/1.1 POST with Connection: close.
func rawPost(host, path, body string) string {
	return "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nAccept: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body
}

// headerValue returns the value of header name in raw header lines.
func headerValue(head []string, name string) (string, bool) {
	for _, l := range head[1:] {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// requireRawFramed checks, on the wire, a Content-Length equal to the body
// and no Transfer-Encoding.
func requireRawFramed(t *testing.T, head []string, body []byte) {
	t.Helper()
	te, hasTE := headerValue(head, "Transfer-Encoding")
	assert.Falsef(t, hasTE, "Transfer-Encoding: got %q; want none (head %q)", te, head)
	cl, hasCL := headerValue(head, "Content-Length")
	require.Truef(t, hasCL, "Content-Length: missing (head %q)", head)
	assert.Equalf(t, strconv.Itoa(len(body)), cl, "Content-Length: got %s; want %d", cl, len(body))
}

// ---- files ----

// filesNamed lists the paths under root whose base name starts with prefix.
func filesNamed(t *testing.T, root, prefix string) []string {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), prefix) {
			found = append(found, path)
		}
		return nil
	})
	return found
}

// treeSize is the total size of the regular files under root.
func treeSize(root string) int64 {
	var n int64
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// envPairs splits the fixture's envprefix answer {"env":"K=V K=V"} into a map.
func envPairs(t *testing.T, r *response) map[string]string {
	t.Helper()
	r.requireOK(t)
	var e struct {
		Env *string `json:"env"`
	}
	require.NoErrorf(t, json.Unmarshal(r.Body, &e), "body: %q", r.Body)
	require.NotNilf(t, e.Env, "no env in %q", r.Body)
	m := map[string]string{}
	for _, kv := range strings.Fields(*e.Env) {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// envObject decodes the fixture's env:true answer.
func envObject(t *testing.T, r *response) map[string]string {
	t.Helper()
	r.requireOK(t)
	m := map[string]string{}
	require.NoErrorf(t, json.Unmarshal(r.Body, &m), "body: %q", r.Body)
	return m
}

// epochMs is t as epoch milliseconds in a string, as the invoker sends a deadline.
func epochMs(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}
