package sysmon

import (
	"bytes"
	"io"
)

// Filter writes to W everything written to it except the runtime's
// scheduler trace: whole lines that start as "SCHED 123ms: " does. It
// holds back only the start of a line that may still become one, so any
// other output goes on at once, in order.
type Filter struct {
	W io.Writer

	held []byte // the start of the current line, while it may be a trace line
	pass bool   // the current line is not one: the rest of it goes through
}

// maxHeld bounds a held line: a longer one is not the runtime's trace
// (about 150 bytes with one P) and goes through.
const maxHeld = 64 << 10

// Write never fails on its own: an error is W's.
func (f *Filter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		end := bytes.IndexByte(p, '\n') + 1 // 0: the line goes on after p
		line := p
		if end > 0 {
			line = p[:end]
		}
		p = p[len(line):]
		if f.pass {
			if _, err := f.W.Write(line); err != nil {
				return n, err
			}
			f.pass = end == 0
			continue
		}
		f.held = append(f.held, line...)
		// A newline never matches, so a maybeTrace line is unfinished.
		if m := traceLine(f.held); m != notTrace && len(f.held) <= maxHeld {
			if m == isTrace && end > 0 { // a whole trace line: dropped
				f.held = f.held[:0]
			}
			continue
		}
		out := f.held
		f.held = f.held[:0]
		f.pass = end == 0
		if _, err := f.W.Write(out); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Flush writes what is held back: at the end of the input, an unfinished
// line is not a trace line.
func (f *Filter) Flush() error {
	if len(f.held) == 0 {
		return nil
	}
	out := f.held
	f.held = nil
	_, err := f.W.Write(out)
	return err
}

type traceMatch int

const (
	notTrace   traceMatch = iota
	maybeTrace            // a prefix of a trace line's start
	isTrace               // starts as a trace line does
)

// traceLine matches the start of b against the runtime's trace line,
// "SCHED " then the milliseconds since start, then "ms: ".
func traceLine(b []byte) traceMatch {
	const prefix, unit = "SCHED ", "ms: "
	for i := 0; i < len(prefix); i++ {
		if i == len(b) {
			return maybeTrace
		}
		if b[i] != prefix[i] {
			return notTrace
		}
	}
	b = b[len(prefix):]
	digits := 0
	for digits < len(b) && b[digits] >= '0' && b[digits] <= '9' {
		digits++
	}
	if digits == len(b) {
		return maybeTrace
	}
	if digits == 0 {
		return notTrace
	}
	b = b[digits:]
	for i := 0; i < len(unit); i++ {
		if i == len(b) {
			return maybeTrace
		}
		if b[i] != unit[i] {
			return notTrace
		}
	}
	return isTrace
}
