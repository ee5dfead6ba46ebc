package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
)

// Errors whose text OpenWhisk users see; the wording is upstream's.
var (
	// ErrExited: the action process is gone.
	ErrExited = errors.New("command exited")
	// ErrExitedAtInit: the process exited before acking.
	//lint:ignore ST1005 upstream's wording, which OpenWhisk users see and match on
	ErrExitedAtInit = errors.New("Command exited abruptly during initialization.")
	// ErrAckTimeout: the process did not ack in time.
	ErrAckTimeout = errors.New("the action did not send its start-up ack on fd 3 in time; check that it writes {\"ok\":true} when __OW_WAIT_FOR_ACK is set")
	// ErrBusy: Exchange was called while another exchange was in progress.
	ErrBusy = errors.New("executor: another request is in progress")
)

// Defaults for Config's zero values.
const (
	DefaultStartProbe = 5 * time.Millisecond
	DefaultAckTimeout = time.Minute
	DefaultMaxLine    = 32 << 20
)

// Config describes the executable to run. Path is required.
type Config struct {
	// Path is the executable; Args0 is its argv[0] (default Path).
	Path, Args0 string
	// Dir is the working directory; "" = the proxy's.
	Dir string
	// Env is the whole environment of the process.
	Env []string
	// WaitForAck makes Start wait for the ack line on fd 3.
	WaitForAck bool
	// AckTimeout bounds the ack wait; 0 = DefaultAckTimeout.
	AckTimeout time.Duration
	// StartProbe is how long a process must stay up to count as started when
	// no ack is expected; 0 = DefaultStartProbe (upstream's 5 ms).
	StartProbe time.Duration
	// Stdout and Stderr receive the action's logs; nil = os.Stdout, os.Stderr.
	Stdout, Stderr io.Writer
	// MaxLine caps one fd 3 line; 0 = DefaultMaxLine.
	MaxLine int
	// OnFrame receives every frame, in order, from the single fd 3 reader:
	// in upstream mode each answer arrives as a response frame with Done set.
	// It runs before the answer is handed to Exchange, so an owner sees an
	// activation's response before its done frame. It must not block.
	OnFrame func(actionloop.Frame)
	// BusyPoll is how long the fd 3 reader may keep reading an empty pipe
	// for a due answer before it sleeps (see busyPoller); 0 = never.
	BusyPoll time.Duration
	// BusyPollStats, if set, counts the fd 3 reader's spins.
	BusyPollStats *BusyPollStats
	// OnStray receives a line that belongs to no request (or a malformed
	// frame), which is dropped so it can never be taken for a later result.
	OnStray func(line []byte, err error)
}

// Process is a running action executable.
type Process struct {
	cfg      Config
	cmd      *exec.Cmd
	stdin    *os.File
	in       *actionloop.ProxyWriter // requests and cancels on stdin
	poll     *busyPoller             // fd 3, read by the reader alone
	stdout   *relay
	stderr   *relay
	extended bool

	turn chan struct{}

	mu      sync.Mutex
	waiting *call // guarded by mu; the exchange awaiting an answer

	exited     chan struct{} // closed when the process has exited
	exitErr    error         // set before exited is closed
	ack        chan ackResult
	readerDone chan struct{}
}

type call struct {
	seq    uint64
	answer chan actionloop.Frame // buffered(1)
}

type ackResult struct {
	ack actionloop.Ack
	err error
}

// Start starts the executable and waits until it counts as started: its ack
// (WaitForAck) or surviving the start probe. The errors are upstream's
// messages so that /init answers the same.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = DefaultAckTimeout
	}
	if cfg.StartProbe <= 0 {
		cfg.StartProbe = DefaultStartProbe
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = DefaultMaxLine
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.Args0 == "" {
		cfg.Args0 = cfg.Path
	}
	var opened []*os.File
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			opened = append(opened, r, w)
		}
		return
	}
	closeAll := func() {
		for _, f := range opened {
			_ = f.Close()
		}
	}
	inR, inW, err1 := pipe()
	fd3R, fd3W, err2 := pipe()
	outR, outW, err3 := pipe()
	errR, errW, err4 := pipe()
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		closeAll()
		return nil, fmt.Errorf("executor: creating pipes: %w", err)
	}
	cmd := &exec.Cmd{
		Path: cfg.Path, Args: []string{cfg.Args0}, Dir: cfg.Dir, Env: cfg.Env,
		Stdin: inR, Stdout: outW, Stderr: errW, ExtraFiles: []*os.File{fd3W},
		// Own process group, so the whole tree can be stopped; killed with the proxy.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	if err := cmd.Start(); err != nil {
		// Upstream reports an unrunnable file (no ELF, no #!) as this, and
		// OpenWhisk users match on the text.
		closeAll()
		return nil, ErrExited
	}
	// The child has its copies; keep only our ends. The log write ends stay
	// open so the relays never see EOF while the process runs; closing fd3W
	// lets the fd 3 reader see EOF when the process exits.
	_ = inR.Close()
	_ = fd3W.Close()
	poll, errPoll := newBusyPoller(fd3R, cfg.BusyPoll, cfg.BusyPollStats)
	p := &Process{
		cfg: cfg, cmd: cmd, stdin: inW, in: actionloop.NewProxyWriter(inW), poll: poll,
		turn: make(chan struct{}, 1), exited: make(chan struct{}), ack: make(chan ackResult, 1),
		readerDone: make(chan struct{}),
	}
	var errOut, errErr error
	p.stdout, errOut = newRelay(outR, outW, cfg.Stdout)
	p.stderr, errErr = newRelay(errR, errW, cfg.Stderr)
	if err := errors.Join(errPoll, errOut, errErr); err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		closeAll()
		return nil, fmt.Errorf("executor: reading the action's fd 3 and output: %w", err)
	}
	go p.wait()
	go p.read(fd3R, actionloop.NewProxyReader(poll, cfg.MaxLine))

	if err := p.started(ctx); err != nil {
		p.Kill()
		return nil, err
	}
	return p, nil
}

func (p *Process) started(ctx context.Context) error {
	if !p.cfg.WaitForAck {
		select {
		case <-p.exited:
			return ErrExited
		case <-time.After(p.cfg.StartProbe):
			return nil
		}
	}
	t := time.NewTimer(p.cfg.AckTimeout)
	defer t.Stop()
	select {
	case a := <-p.ack:
		if a.err != nil {
			return a.err
		}
		p.extended = a.ack.Extended()
		return nil
	case <-p.exited:
		// The ack may have arrived just before the exit.
		select {
		case a := <-p.ack:
			if a.err == nil {
				return ErrExited
			}
			return a.err
		default:
			return ErrExitedAtInit
		}
	case <-t.C:
		return ErrAckTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Process) wait() {
	p.exitErr = p.cmd.Wait()
	close(p.exited)
}

// read is the single long-lived fd 3 reader: the ack, then every answer
// and frame, in order.
func (p *Process) read(fd3 *os.File, r *actionloop.ProxyReader) {
	defer close(p.readerDone)
	defer fd3.Close()
	if p.cfg.WaitForAck {
		a, err := r.ReadAck()
		if errors.Is(err, actionloop.ErrNoAck) {
			err = ErrExitedAtInit
		}
		// p.extended is written by Start before any exchange; the reader
		// learns it the same way, from the ack.
		p.ack <- ackResult{a, err}
		if err != nil {
			return
		}
	}
	for {
		f, line, err := r.Next()
		switch {
		case errors.Is(err, actionloop.ErrLineTooLong):
			p.answerTooLong(err)
		case errors.Is(err, actionloop.ErrNotFrame):
			p.stray(line, err)
		case err != nil:
			return // fd 3 closed: the process is gone
		case f.Kind != actionloop.KindResponse:
			p.cfg.OnFrame(f)
		default:
			p.answer(f, line)
		}
	}
}

// answer hands a response to the exchange waiting for it. An upstream
// answer (Seq 0) is the answer to whichever request waits; an extended one
// must name it. Anything else is dropped as a stray, so it can never be
// taken for a later activation's result.
func (p *Process) answer(f actionloop.Frame, line []byte) {
	p.mu.Lock()
	c := p.waiting
	if c != nil && (f.Seq == 0 || f.Seq == c.seq) {
		p.waiting = nil
	} else {
		c = nil
	}
	p.mu.Unlock()
	switch {
	case c == nil && f.Seq == 0:
		p.stray(line, errors.New("no request was waiting"))
		return
	case c == nil:
		p.stray(line, fmt.Errorf("response for request %d, which is not waiting", f.Seq))
		return
	}
	p.poll.answered()
	f.Seq = c.seq
	p.cfg.OnFrame(f)
	c.answer <- f
	// Let the exchange answer its client before this goroutine reads fd 3
	// again: that read finds nothing and parks, a system call the answer
	// need not wait for.
	runtime.Gosched()
}

// answerTooLong fails the waiting request; an oversized line is never a result.
func (p *Process) answerTooLong(err error) {
	p.mu.Lock()
	c := p.waiting
	p.waiting = nil
	p.mu.Unlock()
	if c != nil {
		c.answer <- actionloop.Frame{Kind: actionloop.KindResponse, Seq: c.seq, Error: err.Error()}
	}
}

func (p *Process) stray(line []byte, err error) {
	if p.cfg.OnStray != nil {
		p.cfg.OnStray(append([]byte(nil), line...), err)
	}
}

// Extended reports whether the executable speaks the Epilogue extension.
func (p *Process) Extended() bool { return p.extended }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitError returns how the process ended; valid once Exited is closed.
func (p *Process) ExitError() error { return p.exitErr }

// Exchange sends a /run body as request seq (the sequence number, and a
// non-empty traceparent, go on the line only in extended mode) and waits
// for its answer. A Frame with a
// non-empty Error and no Result means the answer was unusable. Only one
// exchange may be in progress; a second gets ErrBusy at once, because the
// upstream protocol has no way to pair answers with overlapping requests.
func (p *Process) Exchange(ctx context.Context, seq uint64, body []byte, traceparent string) (actionloop.Frame, error) {
	select {
	case p.turn <- struct{}{}:
	default:
		return actionloop.Frame{}, ErrBusy
	}
	defer func() { <-p.turn }()
	c := &call{seq: seq, answer: make(chan actionloop.Frame, 1)}
	p.mu.Lock()
	p.waiting = c
	p.mu.Unlock()
	forget := func() {
		p.mu.Lock()
		if p.waiting == c {
			p.waiting = nil
			p.poll.gaveUp()
		}
		p.mu.Unlock()
	}
	lineSeq := uint64(0)
	if p.extended {
		lineSeq = seq
	}
	// Armed before the write, so that even an answer faster than this
	// goroutine's next step finds its request's time recorded.
	p.poll.arm()
	if err := p.send(func() error { return p.in.Request(body, lineSeq, traceparent) }); err != nil {
		forget()
		return actionloop.Frame{}, ErrExited
	}
	select {
	case f := <-c.answer:
		return f, nil
	case <-p.exited:
		// Drain: the reader may still hold the answer written just before exit.
		select {
		case f := <-c.answer:
			return f, nil
		case <-p.readerDone:
		case <-time.After(10 * time.Millisecond):
		}
		select {
		case f := <-c.answer:
			return f, nil
		default:
		}
		forget()
		return actionloop.Frame{}, ErrExited
	case <-ctx.Done():
		forget()
		return actionloop.Frame{}, ctx.Err()
	}
}

// Cancel asks an extended executable to stop request seq's work: its
// deadline has come. An upstream executable cannot be asked; Cancel does
// nothing then.
func (p *Process) Cancel(seq uint64) error {
	if !p.extended {
		return nil
	}
	return p.send(func() error { return p.in.Cancel(seq) })
}

// send writes to stdin unless the process is gone.
func (p *Process) send(write func() error) error {
	select {
	case <-p.exited:
		return ErrExited
	default:
	}
	return write()
}

// BeginLogs marks the start of an activation's log, ending the post-response
// tagging of the previous one.
func (p *Process) BeginLogs() {
	out, errs := boundary(p.stdout, p.stderr)
	p.stdout.begin(out)
	p.stderr.begin(errs)
}

// EndLogs writes the sentinel on stdout and stderr after everything the
// action wrote so far, then tags later output with activationID.
func (p *Process) EndLogs(activationID string) {
	out, errs := boundary(p.stdout, p.stderr)
	p.stdout.end(activationID, out)
	p.stderr.end(activationID, errs)
}

// Kill stops the whole process group and releases everything. It is safe to
// call more than once and returns after the process has exited.
func (p *Process) Kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
	_ = p.stdin.Close()
	p.stdout.close()
	p.stderr.close()
}
