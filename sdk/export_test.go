package sdk

import "io"

// TestOptions wires the loop to test pipes instead of the process's files.
type TestOptions struct {
	Stdin          io.Reader
	FD3            io.Writer
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Setenv         func(k, v string)
	Unsetenv       func(k string)
}

// ServeForTest runs the action loop until stdin closes.
func ServeForTest[In, Out any](t TestOptions, h Handler[In, Out], opts ...Option) error {
	o := options{stdin: t.Stdin, fd3: t.FD3, stdout: t.Stdout, stderr: t.Stderr, getenv: t.Getenv, setenv: t.Setenv, unset: t.Unsetenv}
	for _, opt := range opts {
		opt(&o)
	}
	return serve(o, adapt(h))
}
