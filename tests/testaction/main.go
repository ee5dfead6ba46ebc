// Command testaction is a test fixture, not a product: an ActionLoop
// executable that the proxy's black-box conformance tests and the demo build
// as a static binary (CGO_ENABLED=0), upload to the proxy and drive through
// switches in the activation's value.
//
// It speaks the Epilogue extension (package actionloop) when the proxy
// offers it (actionloop.Negotiate: __OW_WAIT_FOR_ACK set, __OW_EPILOGUE 1
// or later) and TESTACTION_UPSTREAM is empty; otherwise it behaves like an
// unmodified upstream executable.
//
// Start-up switches (environment):
//
//	TESTACTION_EXIT_AT_START   exit(1) before doing anything
//	TESTACTION_EXIT_AFTER_MS   exit(1) after that many milliseconds
//	TESTACTION_NO_ACK          never ack and never read stdin
//	TESTACTION_ACK             write this raw line as the ack instead of the
//	                           real one (written whenever the variable is set)
//	TESTACTION_UPSTREAM        speak only the upstream protocol
//
// Per-activation switches (keys of value, when it is an object):
//
//	default            print "hello stdout" / "hello stderr", echo value
//	quiet:true         print nothing
//	env:true           return the whole environment as an object
//	envprefix:"P"      return {"env":"P..=.. P..=.."} (sorted, space-separated)
//	array:true         return ["a","b"]
//	notjson:true       write the raw line "not json" on fd 3 (in both modes)
//	scalar:true        return 42 (raw line upstream, response frame extended)
//	crash:true         exit(2) without answering
//	sleep_ms:N         sleep N ms before answering
//	stray:true         100 ms after answering, write a raw stray line on fd 3
//	bg:N               after answering, print "bg tick K" every 50 ms, N times
//	linger_ms:N        answer {"accepted":true,"linger_ms":N} at once and keep
//	                   working for N ms; in extended mode the response frame
//	                   lists the work as pending and a done frame follows (ok,
//	                   or expired when cancelled or past __OW_DEADLINE)
//	fail_after:true    with linger_ms: the done frame has status error
//	pending_updates:true  with linger_ms: send a pending frame halfway
//	gate:"URL"         with linger_ms: the lingering work ends only once a GET
//	                   of URL has answered 2xx, after linger_ms (tests hold
//	                   the work in flight with testenv.Gate); a gate that
//	                   fails makes the done frame's status error
//	response_gate:"URL"  answer only once a GET of URL has answered 2xx (a
//	                   gate that fails answers an error)
//	instance:true      return {"instance":"PID-RANDOM"}, the same for every
//	                   activation of this process and no other (with
//	                   linger_ms: added to the accepted object)
//	delimiter:"D"      return {"winter":"D ☃ D"} and print "D ☃ D"
//
// Every top-level request key other than value and epilogue_seq becomes
// __OW_<UPPER(key)> (strings as-is, other values as compact JSON); keys absent
// from a request are unset so they do not leak from the previous activation.
// When stdin closes, the program waits up to 10 s for lingering work.
package main

import (
	"os"
	"strconv"
	"time"

	"github.com/epilogue-dev/epilogue/actionloop"
)

// maxLine caps one stdin line.
const maxLine = 64 << 20

// drainBound is how long the program waits for lingering work after stdin
// closes.
const drainBound = 10 * time.Second

func main() {
	if os.Getenv("TESTACTION_EXIT_AT_START") != "" {
		os.Exit(1)
	}
	if v := os.Getenv("TESTACTION_EXIT_AFTER_MS"); v != "" {
		ms, _ := strconv.Atoi(v)
		go func() {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			os.Exit(1)
		}()
	}
	if os.Getenv("TESTACTION_NO_ACK") != "" {
		for {
			time.Sleep(time.Hour)
		}
	}

	ack, extended := actionloop.Negotiate(os.Getenv)
	extended = extended && os.Getenv("TESTACTION_UPSTREAM") == ""

	a := newAction(os.NewFile(3, "fd3"), os.Stdout, os.Stderr, extended)

	switch raw, set := os.LookupEnv("TESTACTION_ACK"); {
	case set:
		a.writeRaw([]byte(raw))
	case ack:
		if err := a.fd3.Ack(); err != nil {
			os.Exit(1)
		}
	}

	a.serve(os.Stdin)
	os.Exit(0)
}
