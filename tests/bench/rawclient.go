package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"sync/atomic"
	"time"
)

// rawClient is the one-connection load loop, as wrk -c1 drives a server:
// one kept-alive connection, a request written from prepared bytes, the
// answer read with a minimal parser, so that the client's own cost (what
// net/http's client adds per request) stays out of the measurement as far
// as it can. A broken connection is redialled on the next request.
//
// With closeEach it is the invoker's client instead (invokerConn): a new
// connection for every request, which asks for keep-alive as Apache
// HttpClient does, and which the client closes once it has read the answer.
type rawClient struct {
	addr      string
	timeout   time.Duration
	dials     *atomic.Int64
	closeEach bool

	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

func newRawClient(addr string, timeout time.Duration, dials *atomic.Int64, closeEach bool) *rawClient {
	return &rawClient{addr: addr, timeout: timeout, dials: dials, closeEach: closeEach}
}

// post sends POST path with body and returns the answer.
func (c *rawClient) post(path string, body []byte) (*http.Response, []byte, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return nil, nil, err
		}
		c.dials.Add(1)
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 64<<10)
	}
	c.req = append(c.req[:0], "POST "...)
	c.req = append(c.req, path...)
	c.req = append(c.req, " HTTP/1.1\r\nHost: "...)
	c.req = append(c.req, c.addr...)
	c.req = append(c.req, "\r\nContent-Type: application/json\r\nAccept: application/json\r\n"...)
	if c.closeEach {
		c.req = append(c.req, "Connection: Keep-Alive\r\n"...)
	}
	c.req = append(c.req, "Content-Length: "...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	resp, respBody, err := c.roundTrip()
	if err != nil || c.closeEach {
		c.close()
	}
	return resp, respBody, err
}

func (c *rawClient) roundTrip() (*http.Response, []byte, error) {
	if _, err := c.conn.Write(c.req); err != nil {
		return nil, nil, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return nil, nil, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return nil, nil, fmt.Errorf("not an HTTP status line: %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return nil, nil, fmt.Errorf("status line %q: %w", line, err)
	}
	resp := &http.Response{StatusCode: status, Header: http.Header{}, ContentLength: -1}
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return nil, nil, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return nil, nil, fmt.Errorf("header line %q", line)
		}
		resp.Header.Add(textproto.CanonicalMIMEHeaderKey(string(k)), string(bytes.TrimSpace(v)))
	}
	n, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		return nil, nil, errors.New("an answer without Content-Length")
	}
	resp.ContentLength = n
	body := make([]byte, n)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return nil, nil, err
	}
	if resp.Header.Get("Connection") == "close" {
		c.close()
	}
	return resp, body, nil
}

func (c *rawClient) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}
