package process

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// proc is one process as /proc/<pid>/stat shows it.
type proc struct {
	pid, pgid, sid int
	// state is the thread group leader's state: R, S, D, T (stopped),
	// t (traced), Z (zombie), X (dead), ...
	state byte
}

// gone reports whether the process has exited (a zombie waits to be reaped
// by someone else and runs nothing).
func (p proc) gone() bool { return p.state == 'Z' || p.state == 'X' }

// parseStat parses the fields of /proc/<pid>/stat this package needs. The
// command name is in parentheses and may itself hold spaces and ')'.
func parseStat(b []byte) (proc, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return proc{}, fmt.Errorf("malformed stat %q", b)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return proc{}, fmt.Errorf("malformed stat %q: %w", b, err)
	}
	// After the name: state ppid pgrp session ...
	f := bytes.Fields(b[end+1:])
	if len(f) < 4 || len(f[0]) != 1 {
		return proc{}, fmt.Errorf("malformed stat %q", b)
	}
	pgid, err1 := strconv.Atoi(string(f[2]))
	sid, err2 := strconv.Atoi(string(f[3]))
	if err := errors.Join(err1, err2); err != nil {
		return proc{}, fmt.Errorf("malformed stat %q: %w", b, err)
	}
	return proc{pid: pid, pgid: pgid, sid: sid, state: f[0][0]}, nil
}

// readStat reads one process's or thread's stat; ok is false when it is gone.
func readStat(path string) (p proc, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return proc{}, false, nil
	}
	if err != nil {
		return proc{}, false, err
	}
	p, err = parseStat(b)
	return p, err == nil, err
}

// session lists the processes of session sid that have not exited.
func session(sid int) ([]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []proc
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		p, ok, err := readStat(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			return nil, err
		}
		if ok && p.sid == sid && !p.gone() {
			out = append(out, p)
		}
	}
	return out, nil
}

// threadStates returns the state of every thread of process pid; a process
// that is gone has none.
func threadStates(pid int) ([]byte, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var states []byte
	for _, e := range entries {
		t, ok, err := readStat(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			return nil, err
		}
		if ok {
			states = append(states, t.state)
		}
	}
	return states, nil
}

// frozen reports whether every live thread of p is stopped.
func frozen(p proc) (bool, error) {
	states, err := threadStates(p.pid)
	if err != nil {
		return false, err
	}
	for _, s := range states {
		if s != 'T' && s != 't' && s != 'Z' && s != 'X' {
			return false, nil
		}
	}
	return true, nil
}

// thawed reports whether no thread of p is stopped by a signal.
func thawed(p proc) (bool, error) {
	states, err := threadStates(p.pid)
	if err != nil {
		return false, err
	}
	for _, s := range states {
		if s == 'T' {
			return false, nil
		}
	}
	return true, nil
}

// signalGroups sends sig to the process group of each of procs, once per
// group. A group that is already gone is not an error.
func signalGroups(procs []proc, sig syscall.Signal) error {
	sent := map[int]bool{}
	var errs []error
	for _, p := range procs {
		if sent[p.pgid] || p.pgid <= 1 {
			continue
		}
		sent[p.pgid] = true
		if err := syscall.Kill(-p.pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("signal %v to process group %d: %w", sig, p.pgid, err))
		}
	}
	return errors.Join(errs...)
}
