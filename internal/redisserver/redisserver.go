package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"time"

	"github.com/epilogue-dev/epilogue/internal/syncbuf"
)

// Bounds.
const (
	// StartTimeout bounds the wait for a started server to answer PING.
	StartTimeout = 10 * time.Second
	// stopTimeout bounds the wait for the killed server to exit.
	stopTimeout = 5 * time.Second
	// pollGap is the pause between PING attempts while it starts.
	pollGap = 20 * time.Millisecond
	// startAttempts: a free port found by the kernel can be taken by
	// someone else before redis-server binds it; then another is tried.
	startAttempts = 3
)

// ErrNotInstalled: redis-server is not in PATH.
var ErrNotInstalled = errors.New("redisserver: redis-server is not installed; install it: apt-get install -y redis-server")

// Server is a running redis-server.
type Server struct {
	addr   string
	bin    string
	args   []string // what Restart starts it with again
	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncbuf.Buffer
}

// Start starts redis-server listening on loopback and, if host is not
// 127.0.0.1 (e.g. the Docker bridge's gateway, so that containers reach
// it), on host too, keeping its files in dir. It returns once the server
// answers PING; Addr is then host:port.
func Start(host, dir string) (*Server, error) {
	return startWith(host, dir, "--save", "", "--appendonly", "no")
}

// StartDurable is Start with the durable-task store's recommended
// persistence: an append-only file fsynced before every reply (appendonly
// yes, appendfsync always). A server started again on the same dir loads
// what the last one acknowledged.
func StartDurable(host, dir string) (*Server, error) {
	return startWith(host, dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always")
}

func startWith(host, dir string, persistence ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNotInstalled, err)
	}
	var failures []error
	for range startAttempts {
		s, err := start(bin, host, dir, persistence)
		if err == nil {
			return s, nil
		}
		failures = append(failures, err)
	}
	return nil, fmt.Errorf("redisserver: cannot start redis-server: %w", errors.Join(failures...))
}

// start starts one server and waits for it; on failure the server is gone
// and the error holds its output.
func start(bin, host, dir string, persistence []string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	bind := []string{"127.0.0.1"}
	if host != "127.0.0.1" {
		// Not only loopback: protected mode would refuse the clients.
		bind = append(bind, host, "--protected-mode", "no")
	}
	args := append([]string{"--port", strconv.Itoa(port), "--bind"}, bind...)
	s := &Server{addr: addr, bin: bin, args: append(append(args, persistence...), "--dir", dir)}
	if err := s.run(); err != nil {
		return nil, err
	}
	return s, nil
}

// run starts the process and waits until it answers PING; on failure it
// is gone and the error holds its output.
func (s *Server) run() error {
	s.out, s.exited = &syncbuf.Buffer{}, make(chan struct{})
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := s.exited
	go func(cmd *exec.Cmd) {
		_ = cmd.Wait()
		close(exited)
	}(s.cmd)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	for {
		err := ping(ctx, s.addr)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited at start:\n%s", s.addr, s.out)
		case <-ctx.Done():
			_ = s.Stop()
			return fmt.Errorf("redis-server on %s did not answer PING within %s (last error: %v):\n%s", s.addr, StartTimeout, err, s.out)
		case <-time.After(pollGap):
		}
	}
}

// Restart SIGKILLs the server and starts it again on the same address and
// directory: a crash and a restart. A durable server (StartDurable) comes
// back with every write it acknowledged, read from its append-only file.
// Not safe to call concurrently with itself or Stop.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	if err := s.run(); err != nil {
		return fmt.Errorf("redisserver: restart on %s: %w", s.addr, err)
	}
	return nil
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop kills the server and waits (bounded) for it to exit; it may be
// called more than once.
func (s *Server) Stop() error {
	_ = s.cmd.Process.Kill()
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("redisserver: redis-server (pid %d) did not exit %s after being killed", s.cmd.Process.Pid, stopTimeout)
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
