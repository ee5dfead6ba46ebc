package completion

import "fmt"

// The runtime's HTTP contract beyond OpenWhisk's: what epilogue-proxy
// serves and what the standalone pool, the invoker shim and the tests ask
// it. OpenWhisk's own endpoints are listed too, so that every path a
// runtime answers has one name.
const (
	// RuntimePort is where a runtime serves inside its container; OpenWhisk
	// requires 8080.
	RuntimePort = "8080"
	// InitPath and RunPath are OpenWhisk's action interface.
	InitPath = "/init"
	RunPath  = "/run"
	// StatusPath serves the runtime's Snapshot.
	StatusPath = "/epilogue/status"
	// AwaitPath blocks until an activation (AwaitActivationParam) is
	// terminal, or without one until the runtime is quiescent, at most
	// AwaitTimeoutParam (a Go duration or milliseconds). It answers 200 with
	// the record (or the Snapshot), 504 with an AwaitTimeout, 404 for an
	// activation the runtime does not know.
	AwaitPath = "/epilogue/await"
	// AwaitActivationParam and AwaitTimeoutParam are AwaitPath's query.
	AwaitActivationParam = "activation"
	AwaitTimeoutParam    = "timeout"
)

// Headers of a /run answer, beyond OpenWhisk's; the invoker ignores them.
const (
	// HeaderActivation names the activation the answer is for.
	HeaderActivation = "X-Epilogue-Activation"
	// HeaderPhase is the activation's phase when the answer went out:
	// PhaseDone when nothing is pending, PhaseResponded when work continues.
	HeaderPhase = "X-Epilogue-Phase"
	// SignatureHeader carries the HMAC-SHA256 of a pushed event's body.
	SignatureHeader = "X-Epilogue-Signature"
)

// AwaitTimeout is the body of AwaitPath's 504: the error and the state so
// far, the activation's record when one was awaited, the Snapshot when the
// wait was for quiescence.
type AwaitTimeout struct {
	Error      string      `json:"error"`
	Activation *Activation `json:"activation,omitempty"`
	*Snapshot
}

// The runtime's environment: how whoever starts epilogue-proxy configures
// it (the image, the standalone backends, the invoker shim).
const (
	// EnvListen is the host:port to listen on (default ":"+RuntimePort).
	EnvListen = "EPILOGUE_LISTEN"
	// EnvListenFD names an inherited, already listening socket to serve on
	// instead (the standalone process backend: no port races).
	EnvListenFD = "EPILOGUE_LISTEN_FD"
	// EnvSemantics is Isolated or Overlap (see Semantics).
	EnvSemantics = "EPILOGUE_SEMANTICS"
	// EnvNotifyURL and EnvNotifyToken: where to push signed events, and
	// the HMAC key of SignatureHeader.
	EnvNotifyURL   = "EPILOGUE_NOTIFY_URL"
	EnvNotifyToken = "EPILOGUE_NOTIFY_TOKEN"
	// EnvInstance names the runtime in its Snapshot and events (default:
	// the hostname, i.e. the container id).
	EnvInstance = "EPILOGUE_INSTANCE"
	// EnvActionDir is where /init unpacks code (default ./action).
	EnvActionDir = "EPILOGUE_ACTION_DIR"
	// EnvDrainTimeout bounds the drain after SIGTERM (a Go duration, e.g.
	// 90s; default: the latest pending deadline plus the cancel grace).
	EnvDrainTimeout = "EPILOGUE_DRAIN_TIMEOUT"
	// EnvBusyPoll is how long the proxy may poll for a fast action's
	// answer instead of sleeping (a Go duration; 0 turns it off).
	EnvBusyPoll = "EPILOGUE_BUSY_POLL"
	// EnvSysmon is SysmonPoll (the default: the proxy keeps the Go
	// runtime's monitor thread polling between requests) or SysmonSleep
	// (the runtime's own behaviour); see internal/sysmon.
	EnvSysmon = "EPILOGUE_SYSMON"
	// EnvSysmonFDs is set by the proxy for its re-executed self alone: the
	// descriptors of its standard error and of the pipe the runtime's own
	// output is filtered through.
	EnvSysmonFDs = "EPILOGUE_SYSMON_FDS"
)

// The values of EnvSysmon.
const (
	SysmonPoll  = "poll"
	SysmonSleep = "sleep"
)

// OpenWhisk's own proxy variables, which epilogue-proxy honours as
// upstream's ActionLoop proxy does.
const (
	// EnvWaitForAck makes the proxy wait for the action's start-up ack (the
	// image sets it; the Epilogue extension is negotiated in that ack).
	EnvWaitForAck = "OW_WAIT_FOR_ACK"
	// EnvLogInitError sends an /init failure's message to the logs too.
	EnvLogInitError = "OW_LOG_INIT_ERROR"
	// EnvExecutionEnv names the execution environment an archive's
	// bin/exec.env must match.
	EnvExecutionEnv = "OW_EXECUTION_ENV"
)

// Protocols a Snapshot reports: what the action behind the runtime speaks.
const (
	// ProtocolActionLoop: an upstream executable, done when it answers.
	ProtocolActionLoop = "actionloop"
	// ProtocolExtension: the Epilogue extension of ActionLoop, version 1.
	ProtocolExtension = "epilogue/1"
)

// Semantics decides when a runtime starts a new /run while earlier
// activations still have work pending.
type Semantics string

const (
	// Isolated (the default): a /run starts only when every earlier
	// activation is done, so leftover work can never interfere with the
	// next event (Theorem 5.2 of "This is not the End", arXiv 2211.02330).
	Isolated Semantics = "isolated"
	// Overlap: a /run may start while earlier activations linger, as a
	// stock runtime would.
	Overlap Semantics = "overlap"
)

// ParseSemantics accepts "isolated", "overlap" or "" (Isolated).
func ParseSemantics(s string) (Semantics, error) {
	switch Semantics(s) {
	case "", Isolated:
		return Isolated, nil
	case Overlap:
		return Overlap, nil
	}
	return "", fmt.Errorf("completion: unknown semantics %q: use %q or %q", s, Isolated, Overlap)
}
