package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
	"github.com/epilogue-dev/epilogue/completion"
)

// proxyProc is one epilogue-proxy process started by the benchmark, with its
// action initialised.
type proxyProc struct {
	name     string
	base     string // http://127.0.0.1:port
	dir      string // its working directory (a temp dir)
	cmd      *exec.Cmd
	cancel   context.CancelFunc
	exited   chan struct{}
	waitErr  error
	stdout   *os.File
	stderr   *os.File
	protocol string // from /epilogue/status after /init

	actionPID   int    // the action process the proxy started, 0 if unknown
	actionStart uint64 // its start time (field 22 of /proc/PID/stat), to recognise it
}

// proxySpec says how a proxy is started and which protocol its action must
// then speak.
type proxySpec struct {
	// upstream makes the fixture behave like an unmodified ActionLoop
	// executable (TESTACTION_UPSTREAM=1 in the init env).
	upstream bool
	// noAck starts the proxy without OW_WAIT_FOR_ACK: it waits for no ack,
	// so no action can speak the Epilogue extension (the SDK then falls back
	// to the upstream protocol).
	noAck bool
	// foreign is upstream's proxy: it listens on upstreamPort whatever it
	// is told, serves no /epilogue/status, and runs with OW_WAIT_FOR_ACK as
	// its image does.
	foreign bool
	// noBusyPoll turns the proxy's busy polling for answers off
	// (EPILOGUE_BUSY_POLL=0), the baseline its gain is measured against.
	noBusyPoll bool
	// otlp, when set, is the OTLP/HTTP endpoint the proxy traces to
	// (OTEL_EXPORTER_OTLP_ENDPOINT); "" = tracing off.
	otlp string
}

// protocol is what /epilogue/status must report after /init.
func (s proxySpec) protocol() string {
	if s.foreign {
		return "" // not asked: upstream's proxy has no status endpoint
	}
	if s.upstream || s.noAck {
		return "actionloop"
	}
	return "epilogue/" + strconv.Itoa(actionloop.Version)
}

// startProxy starts bin (an absolute path) in a fresh temp dir, listening on
// a free loopback port, waits until it serves, initialises it with the
// action executable and checks the protocol the action speaks. The proxy is
// stopped with stop, and also when ctx ends.
func startProxy(ctx context.Context, name, bin string, action []byte, spec proxySpec, timeout time.Duration) (*proxyProc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := startProxyOnce(ctx, name, bin, spec, timeout)
		if err == nil {
			if err = p.init(ctx, action, spec, timeout); err == nil {
				return p, nil
			}
			p.stop()
			return nil, err
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func startProxyOnce(ctx context.Context, name, bin string, spec proxySpec, timeout time.Duration) (_ *proxyProc, err error) {
	port := upstreamPort
	if !spec.foreign {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "epilogue-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	p := &proxyProc{name: name, dir: dir, base: "http://127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{})}
	defer func() {
		if err != nil {
			p.stop()
		}
	}()
	// The proxy's own output (sentinels, the action's logs) goes to files, so
	// that a failure can be explained; with quiet activations it is only the
	// two sentinel lines per activation.
	if p.stdout, err = os.Create(filepath.Join(dir, "proxy.stdout")); err != nil {
		return nil, err
	}
	if p.stderr, err = os.Create(filepath.Join(dir, "proxy.stderr")); err != nil {
		return nil, err
	}
	pctx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	cmd := exec.CommandContext(pctx, bin)
	cmd.Dir = dir
	cmd.Env = cleanEnv(os.Environ())
	if !spec.foreign {
		cmd.Env = append(cmd.Env, completion.EnvListen+"=127.0.0.1:"+strconv.Itoa(port), completion.EnvInstance+"=bench-"+name)
	}
	if !spec.noAck {
		cmd.Env = append(cmd.Env, completion.EnvWaitForAck+"=1")
	}
	if spec.noBusyPoll {
		cmd.Env = append(cmd.Env, completion.EnvBusyPoll+"=0")
	}
	if spec.otlp != "" {
		// A short batch delay keeps the export of a block's spans within
		// the block: at the default 5 s it would run on during the next
		// mode's block and charge that mode for it.
		cmd.Env = append(cmd.Env, "OTEL_EXPORTER_OTLP_ENDPOINT="+spec.otlp, "OTEL_SERVICE_NAME=bench-"+name, "OTEL_BSP_SCHEDULE_DELAY=20")
	}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	// Ask for the proxy's graceful shutdown first (it then kills its action);
	// exec kills it outright if it has not exited after WaitDelay.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	if err = cmd.Start(); err != nil {
		cancel()
		close(p.exited)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	// Wait until it serves.
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	until := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-p.exited:
			return nil, fmt.Errorf("proxy %s exited at start (%v): %s", name, p.waitErr, p.stderrTail())
		case <-ctx.Done():
			return nil, ctx.Err()
		default:
		}
		resp, gerr := c.Get(p.base + completion.StatusPath)
		if gerr == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
			gerr = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(until) {
			return nil, fmt.Errorf("proxy %s does not serve %s/epilogue/status after 10 s: %v; %s", name, p.base, gerr, p.stderrTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// init posts /init with the action and checks which protocol it speaks.
func (p *proxyProc) init(ctx context.Context, action []byte, spec proxySpec, timeout time.Duration) error {
	value := map[string]any{
		"name": "bench", "main": "main", "binary": true,
		"code": base64.StdEncoding.EncodeToString(action),
	}
	if spec.upstream {
		value["env"] = map[string]string{"TESTACTION_UPSTREAM": "1"}
	}
	body, err := json.Marshal(map[string]any{"value": value})
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	status, resp, err := do(ctx, c, http.MethodPost, p.base+"/init", body)
	if err != nil {
		return fmt.Errorf("proxy %s: POST /init: %w; %s", p.name, err, p.stderrTail())
	}
	if status != http.StatusOK {
		return fmt.Errorf("proxy %s: POST /init: %d %s; %s", p.name, status, bytes.TrimSpace(resp), p.stderrTail())
	}
	if spec.foreign {
		p.protocol = "upstream"
		p.actionPID, p.actionStart = findChild(p.cmd.Process.Pid)
		return nil
	}
	status, resp, err = do(ctx, c, http.MethodGet, p.base+completion.StatusPath, nil)
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("proxy %s: GET /epilogue/status after /init: %d %v", p.name, status, err)
	}
	var snap struct {
		Protocol string `json:"protocol"`
	}
	if err := json.Unmarshal(resp, &snap); err != nil {
		return fmt.Errorf("proxy %s: /epilogue/status: %w", p.name, err)
	}
	p.protocol = snap.Protocol
	if want := spec.protocol(); p.protocol != want {
		return fmt.Errorf("proxy %s: the action speaks protocol %q after /init, want %q", p.name, p.protocol, want)
	}
	p.actionPID, p.actionStart = findChild(p.cmd.Process.Pid)
	return nil
}

// stop stops the proxy (SIGTERM, then SIGKILL after 5 s), makes sure the
// action it started is gone, and removes its directory. It is idempotent.
func (p *proxyProc) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	if p.cmd != nil {
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	// The proxy kills its action on shutdown; if it was killed itself, the
	// action may survive it. Kill only the very process it started.
	if p.actionPID > 0 {
		if _, start, ok := procStat(p.actionPID); ok && start == p.actionStart {
			_ = syscall.Kill(p.actionPID, syscall.SIGKILL)
		}
		p.actionPID = 0
	}
	for _, f := range []*os.File{p.stdout, p.stderr} {
		if f != nil {
			_ = f.Close()
		}
	}
	p.stdout, p.stderr = nil, nil
	if p.dir != "" {
		_ = os.RemoveAll(p.dir)
		p.dir = ""
	}
}

// stderrTail returns the last lines of the proxy's stderr other than
// sentinels, for error messages.
func (p *proxyProc) stderrTail() string {
	if p.dir == "" {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(p.dir, "proxy.stderr"))
	if err != nil {
		return "proxy stderr: " + err.Error()
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && l != sentinel {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "proxy stderr: (nothing but sentinels)"
	}
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "proxy stderr: " + strings.Join(lines, " | ")
}

// sentinel is the line the proxy writes on stdout and stderr after every activation.
const sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

// cpu returns the CPU time used so far by the proxy and by its action.
func (p *proxyProc) cpu() (proxy, action time.Duration) {
	if p.cmd != nil && p.cmd.Process != nil {
		proxy, _, _ = procStat(p.cmd.Process.Pid)
	}
	if p.actionPID > 0 {
		action, _, _ = procStat(p.actionPID)
	}
	return proxy, action
}

// cleanEnv drops every variable that configures the proxy (OTEL_* too: a
// mode traces only when the benchmark says so) or is passed to the action,
// so that only what the benchmark sets applies.
func cleanEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "EPILOGUE_") || strings.HasPrefix(k, "OW_") || strings.HasPrefix(k, "__OW_") || strings.HasPrefix(k, "OTEL_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// clockTick is USER_HZ, the unit of /proc/PID/stat times; 100 on Linux.
const clockTick = 100

// procStat reads utime+stime and the start time of process pid.
func procStat(pid int) (cpu time.Duration, start uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// The command name (field 2) may contain spaces; fields resume after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
	if len(f) < 20 {
		return 0, 0, false
	}
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	start, _ = strconv.ParseUint(f[19], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTick, start, true
}

// findChild returns a child process of pid (the proxy has exactly one: its
// action) and its start time.
func findChild(pid int) (int, uint64) {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(s); err == nil {
				if _, start, ok := procStat(c); ok {
					return c, start
				}
			}
		}
	}
	return 0, 0
}

// do makes one request and reads the whole response.
func do(ctx context.Context, c *http.Client, method, url string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, err
	}
	return resp.StatusCode, b, nil
}
