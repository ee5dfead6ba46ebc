package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Redis bounds.
const (
	// redisStartTimeout bounds the wait for a started redis-server to answer PING.
	redisStartTimeout = 10 * time.Second
	// redisPollGap is the pause between PING attempts while it starts.
	redisPollGap = 20 * time.Millisecond
	// redisStopTimeout bounds the wait for the killed server to exit.
	redisStopTimeout = 5 * time.Second
	// redisStartAttempts: a free port found by the kernel can be taken by
	// someone else before redis-server binds it; then another port is tried.
	redisStartAttempts = 3
)

// RequireRedis starts a real redis-server for the test, on a free loopback
// port, without persistence (its directory is a t.TempDir()), and returns its
// host:port once it answers PING. The server is killed when the test ends.
// Without redis-server in PATH the test is skipped, or fails under CI=true.
func RequireRedis(t testing.TB) (addr string) {
	t.Helper()
	return RequireRedisOn(t, "127.0.0.1")
}

// RequireRedisOn is RequireRedis with the server listening on host too (as
// well as on loopback), e.g. the Docker bridge's gateway address so that
// containers reach it; it returns host:port.
func RequireRedisOn(t testing.TB, host string) (addr string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "install it: apt-get install -y redis-server", "redis-server is not installed: %v", err)
		return ""
	}
	var failures []error
	for range redisStartAttempts {
		addr, err := startRedis(t, bin, host)
		if err == nil {
			return addr
		}
		failures = append(failures, err)
	}
	t.Fatalf("cannot start redis-server: %v", failures)
	return ""
}

// startRedis starts one server and waits for it; on failure the server is
// gone and the error holds its output.
func startRedis(t testing.TB, bin, host string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	bind := []string{"127.0.0.1"}
	if host != "127.0.0.1" {
		// Not only loopback: protected mode would refuse the clients.
		bind = append(bind, host, "--protected-mode", "no")
	}
	out := &lockedBuffer{}
	args := append([]string{"--port", strconv.Itoa(port), "--bind"}, bind...)
	args = append(args, "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(redisStopTimeout):
			t.Errorf("redis-server (pid %d) did not exit %s after being killed", cmd.Process.Pid, redisStopTimeout)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
	defer cancel()
	for {
		err := ping(ctx, addr)
		if err == nil {
			t.Cleanup(stop)
			return addr, nil
		}
		select {
		case <-exited:
			return "", fmt.Errorf("redis-server on %s exited at start:\n%s", addr, out)
		case <-ctx.Done():
			stop()
			return "", fmt.Errorf("redis-server on %s did not answer PING within %s (last error: %v):\n%s", addr, redisStartTimeout, err, out)
		case <-time.After(redisPollGap):
		}
	}
}

// freePort asks the kernel for a loopback port that is free now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	return port, ln.Close()
}

// ping sends an inline PING and expects +PONG.
func ping(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// lockedBuffer collects a child's output, written and read concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
