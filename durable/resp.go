package durable

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds of the RESP reader: a reply larger or deeper than these is not one
// this package asked for, so it is refused rather than allocated.
const (
	maxBulk      = 64 << 20
	maxArray     = 1 << 20
	maxDepth     = 8
	maxLine      = 64 << 10
	dialTimeout  = 10 * time.Second
	replyTimeout = 30 * time.Second // a command's reply, when ctx sets no deadline
)

// RedisError is an error reply from Redis ("-ERR ...").
type RedisError string

func (e RedisError) Error() string { return "redis: " + string(e) }

// errNil is Redis' nil reply; commands turn it into "not found".
var errProtocol = errors.New("redis: malformed reply")

// conn is one connection to Redis speaking RESP2: commands are sent as
// arrays of bulk strings, one at a time. It is the whole of this package's
// client so that the SDK, which links it into every action, needs nothing
// outside the standard library (an action built outside this repository
// gets no extra module to resolve).
type conn struct {
	addr, password string
	db             int

	mu sync.Mutex // one command at a time
	c  net.Conn   // guarded by mu; nil after an I/O error, redialled on use
	r  *bufio.Reader
	w  *bufio.Writer
}

// parseAddr reads redis://[:password@]host:port[/db] or host:port.
func parseAddr(s string) (addr, password string, db int, err error) {
	if !strings.Contains(s, "://") {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return "", "", 0, fmt.Errorf("the Redis address %q is neither host:port nor redis://host:port", s)
		}
		return s, "", 0, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "redis" || u.Host == "" {
		return "", "", 0, fmt.Errorf("the Redis address %q is neither host:port nor redis://[:password@]host:port[/db]", s)
	}
	addr = u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "6379")
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || host == "" {
		// url.Parse takes redis://::1 (host "::1"), which no dialer does.
		return "", "", 0, fmt.Errorf("the Redis address %q has no host:port a dialer takes: write redis://host:port, with an IPv6 host in brackets (redis://[::1]:6379)", s)
	}
	if u.User != nil {
		password, _ = u.User.Password()
		if password == "" {
			password = u.User.Username()
		}
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if db, err = strconv.Atoi(p); err != nil || db < 0 {
			return "", "", 0, fmt.Errorf("the Redis address %q names database %q: use a number such as /0", s, p)
		}
	}
	return addr, password, db, nil
}

func (c *conn) dialLocked(ctx context.Context) error {
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("cannot reach the task store's Redis at %s (is it running, and is %s set right?): %w", c.addr, EnvRedis, err)
	}
	c.c, c.r, c.w = nc, bufio.NewReader(nc), bufio.NewWriter(nc)
	if c.password != "" {
		if _, err := c.doLocked(ctx, "AUTH", c.password); err != nil {
			c.closeLocked()
			return err
		}
	}
	if c.db != 0 {
		if _, err := c.doLocked(ctx, "SELECT", strconv.Itoa(c.db)); err != nil {
			c.closeLocked()
			return err
		}
	}
	return nil
}

func (c *conn) closeLocked() {
	if c.c != nil {
		_ = c.c.Close()
		c.c = nil
	}
}

func (c *conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

// do sends one command and returns its reply: string, int64, nil, []any,
// or a RedisError as the error.
func (c *conn) do(ctx context.Context, args ...string) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c == nil {
		if err := c.dialLocked(ctx); err != nil {
			return nil, err
		}
	}
	return c.doLocked(ctx, args...)
}

func (c *conn) doLocked(ctx context.Context, args ...string) (any, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(replyTimeout)
	}
	_ = c.c.SetDeadline(deadline)
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n%s\r\n", len(a), a)
	}
	err := c.w.Flush()
	var v any
	if err == nil {
		v, err = readReply(c.r, 0)
	}
	var re RedisError
	if err != nil && !errors.As(err, &re) {
		// The connection's state is unknown: the next command redials.
		c.closeLocked()
		return nil, fmt.Errorf("the task store's Redis at %s: %w", c.addr, err)
	}
	return v, err
}

// readReply reads one RESP2 reply. Error replies are returned as a
// RedisError (after the whole reply is read, so the stream stays in step).
func readReply(r *bufio.Reader, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", errProtocol, maxDepth)
	}
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, fmt.Errorf("%w: an empty line", errProtocol)
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, RedisError(body)
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: integer %q", errProtocol, body)
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(body)
		switch {
		case err != nil || n < -1 || n > maxBulk:
			return nil, fmt.Errorf("%w: bulk length %q", errProtocol, body)
		case n == -1:
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		if b[n] != '\r' || b[n+1] != '\n' {
			return nil, fmt.Errorf("%w: a bulk string not ended by CRLF", errProtocol)
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		switch {
		case err != nil || n < -1 || n > maxArray:
			return nil, fmt.Errorf("%w: array length %q", errProtocol, body)
		case n == -1:
			return nil, nil
		}
		out := make([]any, 0, min(n, 1024))
		var firstErr error
		for range n {
			v, err := readReply(r, depth+1)
			var re RedisError
			if err != nil && !errors.As(err, &re) {
				return nil, err
			}
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out = append(out, v)
		}
		return out, firstErr
	}
	return nil, fmt.Errorf("%w: type byte %q", errProtocol, line[0])
}

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", fmt.Errorf("%w: a line longer than %d bytes", errProtocol, maxLine)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}
