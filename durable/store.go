package durable

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Names in Redis. The {epilogue} hash tag puts every key on one slot, so the
// scripts below, which touch several keys, also run on a Redis Cluster.
const (
	// Stream holds one entry per intent not yet finished: appended by
	// Start, deleted when the task succeeds or is dead-lettered.
	Stream = "{epilogue}:tasks"
	// DeadStream holds the dead-lettered intents with their errors.
	DeadStream = "{epilogue}:tasks:dead"
	// Group is the consumer group whose pending entries are the leases:
	// an intent is always pending, owned by the container running it (or
	// by the recoverer that re-invoked it), and its idle time is the age
	// of the owner's last heartbeat.
	Group = "epilogue"
	// statePrefix + id is a hash: attempt, checkpoint, reason, recoveries.
	statePrefix = "{epilogue}:task:"
)

// The reserved names shared by the SDK and the recoverer.
const (
	// TaskParam is the reserved parameter of a recovery invocation: its
	// value is a Resume, and the SDK runs the task it names instead of the
	// action's handler.
	TaskParam = "__epilogue_task"
	// EnvRedis is the variable (or bound parameter) holding the task
	// store's address: host:port or redis://[:password@]host:port[/db].
	EnvRedis = "EPILOGUE_TASKS_REDIS"
	// EnvLease (or a bound parameter of that name) overrides DefaultLease
	// in the SDK, as a Go duration; the recoverer must use the same.
	EnvLease = "EPILOGUE_TASKS_LEASE"
	// EnvAuth is where epilogue tasks recover reads its uuid:key when
	// --auth is not given: a variable, so that a Kubernetes Secret reaches
	// it without the key in the process's arguments.
	EnvAuth = "EPILOGUE_TASKS_AUTH"
	// DefaultLease is how long an intent's owner may go without a
	// heartbeat before the recoverer takes the intent over.
	DefaultLease = 30 * time.Second
)

// Why an intent is run again; the recovery activation's result names the
// original activation under this key.
const (
	ReasonRecovery     = "recoveryOf"     // its container ended without finishing it
	ReasonContinuation = "continuationOf" // it reached its activation's deadline and checkpointed
)

// Resume is the value of TaskParam: which intent to run, and the activation
// the new one continues (exactly one of RecoveryOf and ContinuationOf).
type Resume struct {
	ID             string `json:"id"`
	RecoveryOf     string `json:"recoveryOf,omitempty"`
	ContinuationOf string `json:"continuationOf,omitempty"`
}

// ErrNotFound: no pending intent (or dead letter) has the id.
var ErrNotFound = errors.New("no such task: it finished, was dropped, or the id is wrong (epilogue tasks list shows the pending ones)")

// Intent is a started task, as stored.
type Intent struct {
	// ID is the stream entry's id: the store's handle on this intent.
	ID string `json:"id"`
	// TaskID is the task's stable id, for idempotent effects: the ID of
	// the first intent, kept when an operator retries a dead letter.
	TaskID     string          `json:"taskId"`
	Task       string          `json:"task"`
	Action     string          `json:"action"`     // fully qualified: /namespace[/package]/action
	Activation string          `json:"activation"` // the activation that started it
	Payload    json.RawMessage `json:"payload"`
	Attempts   int             `json:"attempts"` // the most attempts before dead-lettering
	Deadline   time.Time       `json:"deadline"` // the starting activation's deadline; zero if none
}

func (in Intent) fields() []string {
	f := []string{"task", in.Task, "action", in.Action, "activation", in.Activation,
		"payload", string(in.Payload), "attempts", strconv.Itoa(in.Attempts)}
	if !in.Deadline.IsZero() {
		f = append(f, "deadline", strconv.FormatInt(in.Deadline.UnixMilli(), 10))
	}
	if in.TaskID != "" && in.TaskID != in.ID {
		f = append(f, "taskid", in.TaskID) // absent: the entry's own id
	}
	return f
}

// decodeEntry reads an XRANGE/XAUTOCLAIM entry [id, [field, value, ...]].
func decodeEntry(v any) (Intent, map[string]string, error) {
	e, ok := v.([]any)
	if !ok || len(e) != 2 {
		return Intent{}, nil, fmt.Errorf("%w: a stream entry", errProtocol)
	}
	id, _ := e[0].(string)
	kv, _ := e[1].([]any)
	if id == "" || len(kv)%2 != 0 {
		return Intent{}, nil, fmt.Errorf("%w: a stream entry", errProtocol)
	}
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		k, _ := kv[i].(string)
		val, _ := kv[i+1].(string)
		m[k] = val
	}
	in := Intent{ID: id, TaskID: m["taskid"], Task: m["task"], Action: m["action"], Activation: m["activation"], Payload: json.RawMessage(m["payload"])}
	if in.TaskID == "" {
		in.TaskID = id
	}
	in.Attempts, _ = strconv.Atoi(m["attempts"])
	if ms, err := strconv.ParseInt(m["deadline"], 10, 64); err == nil && ms > 0 {
		in.Deadline = time.UnixMilli(ms)
	}
	return in, m, nil
}

// Store is the task store: a Redis reached over one connection.
type Store struct {
	c *conn
}

// Open returns the store at addr (host:port or redis://...). It connects on
// first use, and again after a connection error.
func Open(addr string) (*Store, error) {
	a, pw, db, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	return &Store{c: &conn{addr: a, password: pw, db: db}}, nil
}

// Addr is the store's host:port.
func (s *Store) Addr() string { return s.c.addr }

// Close closes the connection.
func (s *Store) Close() { s.c.close() }

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.c.do(ctx, "PING")
	return err
}

// appendScript makes an intent durable and leased in one step: the group
// exists, the entry is added, and it is pending under the consumer with
// the given idle time (0 for a live owner; past the lease for an intent
// the recoverer should take at once).
const appendScript = `
pcall(redis.call, 'XGROUP', 'CREATE', KEYS[1], ARGV[1], '$', 'MKSTREAM')
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'IDLE', ARGV[3], 'FORCE', 'JUSTID')
return id`

// Append stores the intent, pending under consumer, and returns its ID.
// When it returns without error the intent is in Redis (and, with
// appendfsync always, on Redis' disk).
func (s *Store) Append(ctx context.Context, in Intent, consumer string) (string, error) {
	return s.appendIdle(ctx, in, consumer, 0)
}

func (s *Store) appendIdle(ctx context.Context, in Intent, consumer string, idle time.Duration) (string, error) {
	args := append([]string{"EVAL", appendScript, "1", Stream, Group, consumer, strconv.FormatInt(idle.Milliseconds(), 10)}, in.fields()...)
	v, err := s.c.do(ctx, args...)
	if err != nil {
		return "", fmt.Errorf("cannot store the task's intent: %w", err)
	}
	id, _ := v.(string)
	return id, nil
}

// Heartbeat renews consumer's lease on the intent (and takes it over from
// the recoverer). It reports false when the intent is no longer pending:
// it finished, or an operator dropped it.
func (s *Store) Heartbeat(ctx context.Context, id, consumer string) (bool, error) {
	v, err := s.c.do(ctx, "XCLAIM", Stream, Group, consumer, "0", id, "JUSTID")
	if err != nil {
		return false, err
	}
	ids, _ := v.([]any)
	return len(ids) == 1, nil
}

// BeginAttempt counts an attempt by the activation and returns its number
// (1 for the first). A container that dies mid-attempt has used it up: a
// task that crashes its container is dead-lettered, not retried forever.
func (s *Store) BeginAttempt(ctx context.Context, id, activation string) (int, error) {
	v, err := s.c.do(ctx, "EVAL", `redis.call('HSET', KEYS[1], 'activation', ARGV[1]); return redis.call('HINCRBY', KEYS[1], 'attempt', 1)`,
		"1", statePrefix+id, activation)
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return int(n), nil
}

// State is what the store knows of a pending intent beyond the intent.
type State struct {
	Attempt int `json:"attempt"` // attempts begun
	// Activation is the last activation that ran the task.
	Activation string          `json:"activation,omitempty"`
	Checkpoint json.RawMessage `json:"checkpoint,omitempty"`
	Reason     string          `json:"reason,omitempty"` // set when released for a continuation
	Recoveries int             `json:"recoveries"`       // re-invocations that failed to start
	Errors     []string        `json:"errors,omitempty"`
}

// GetState reads the intent's state.
func (s *Store) GetState(ctx context.Context, id string) (State, error) {
	v, err := s.c.do(ctx, "HGETALL", statePrefix+id)
	if err != nil {
		return State{}, err
	}
	kv, _ := v.([]any)
	var st State
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		val, _ := kv[i+1].(string)
		switch k {
		case "attempt":
			st.Attempt, _ = strconv.Atoi(val)
		case "checkpoint":
			st.Checkpoint = json.RawMessage(val)
		case "activation":
			st.Activation = val
		case "reason":
			st.Reason = val
		case "recoveries":
			st.Recoveries, _ = strconv.Atoi(val)
		case "errors":
			_ = json.Unmarshal([]byte(val), &st.Errors)
		}
	}
	return st, nil
}

// Checkpoint saves the task's progress; a continuation starts from it.
func (s *Store) Checkpoint(ctx context.Context, id string, state json.RawMessage) error {
	_, err := s.c.do(ctx, "HSET", statePrefix+id, "checkpoint", string(state))
	return err
}

// recordErrorScript appends to the JSON list of errors in the state hash.
const recordErrorScript = `
local errs = cjson.decode(redis.call('HGET', KEYS[1], 'errors') or '[]')
table.insert(errs, ARGV[1])
redis.call('HSET', KEYS[1], 'errors', cjson.encode(errs))
return redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[3])`

// RecordError records a failed attempt's error.
func (s *Store) RecordError(ctx context.Context, id, msg string) error {
	_, err := s.c.do(ctx, "EVAL", recordErrorScript, "1", statePrefix+id, msg, "attempt", "0")
	return err
}

// RecordFailedRecovery records a re-invocation that did not start and
// returns how many there have been.
func (s *Store) RecordFailedRecovery(ctx context.Context, id, msg string) (int, error) {
	v, err := s.c.do(ctx, "EVAL", recordErrorScript, "1", statePrefix+id, msg, "recoveries", "1")
	n, _ := v.(int64)
	return int(n), err
}

// releaseScript hands the intent back for a continuation: the attempt does
// not count (it was stopped, not failed), and the lease is made expired so
// the recoverer takes it at its next poll.
const releaseScript = `
redis.call('HSET', KEYS[2], 'reason', ARGV[4])
redis.call('HINCRBY', KEYS[2], 'attempt', -1)
return redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'IDLE', ARGV[5], 'JUSTID')`

// Release gives up consumer's lease for a continuation of the task in a new
// activation.
func (s *Store) Release(ctx context.Context, id, consumer string) error {
	_, err := s.c.do(ctx, "EVAL", releaseScript, "2", Stream, statePrefix+id, Group, consumer, id, ReasonContinuation,
		strconv.FormatInt(expiredIdle.Milliseconds(), 10))
	return err
}

// expiredIdle is an idle time past any sensible lease.
const expiredIdle = 365 * 24 * time.Hour

// SetReason records why the intent is handed back (ReasonContinuation), or
// clears it (""): the recoverer clears it before re-invoking, and puts it
// back when the invocation fails.
func (s *Store) SetReason(ctx context.Context, id, reason string) error {
	var err error
	if reason == "" {
		_, err = s.c.do(ctx, "HDEL", statePrefix+id, "reason")
	} else {
		_, err = s.c.do(ctx, "HSET", statePrefix+id, "reason", reason)
	}
	return err
}

// ackScript ends an intent: acknowledged, deleted, its state gone.
const ackScript = `
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return n`

// Ack records the task's success: the intent is gone. It reports whether the
// intent was still pending.
func (s *Store) Ack(ctx context.Context, id string) (bool, error) {
	v, err := s.c.do(ctx, "EVAL", ackScript, "2", Stream, statePrefix+id, Group, id)
	if err != nil {
		return false, fmt.Errorf("cannot acknowledge the task (it will run again; its effects must be idempotent): %w", err)
	}
	n, _ := v.(int64)
	return n == 1, nil
}

// deadScript moves an intent to the dead-letter stream with its errors.
const deadScript = `
redis.call('XADD', KEYS[3], '*', unpack(ARGV, 3))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
return 1`

// DeadLetter moves the intent to the dead-letter stream, with errs and the
// state's errors.
func (s *Store) DeadLetter(ctx context.Context, in Intent, errs ...string) error {
	st, err := s.GetState(ctx, in.ID)
	if err != nil {
		return err
	}
	all, _ := json.Marshal(append(st.Errors, errs...))
	dead := in
	dead.ID, dead.TaskID = "", cmp.Or(in.TaskID, in.ID) // the dead letter has an id of its own
	args := append([]string{"EVAL", deadScript, "3", Stream, statePrefix + in.ID, DeadStream, Group, in.ID}, dead.fields()...)
	args = append(args, "errors", string(all), "attempt", strconv.Itoa(st.Attempt), "intent", in.ID)
	if _, err := s.c.do(ctx, args...); err != nil {
		return fmt.Errorf("cannot dead-letter the task: %w", err)
	}
	return nil
}

// Get returns the pending intent with the id.
func (s *Store) Get(ctx context.Context, id string) (Intent, error) {
	in, _, err := s.getFrom(ctx, Stream, id)
	return in, err
}

func (s *Store) getFrom(ctx context.Context, stream, id string) (Intent, map[string]string, error) {
	v, err := s.c.do(ctx, "XRANGE", stream, id, id)
	if err != nil {
		var re RedisError
		if errors.As(err, &re) {
			return Intent{}, nil, fmt.Errorf("%q is not a task id (they look like 1712345678901-0): %w", id, err)
		}
		return Intent{}, nil, err
	}
	es, _ := v.([]any)
	if len(es) == 0 {
		return Intent{}, nil, ErrNotFound
	}
	return decodeEntry(es[0])
}

// ClaimExpired takes over up to count intents whose lease expired (idle
// longer than lease) for consumer and returns them.
func (s *Store) ClaimExpired(ctx context.Context, consumer string, lease time.Duration, count int) ([]Intent, error) {
	var out []Intent
	cursor := "0-0"
	for len(out) < count {
		v, err := s.c.do(ctx, "XAUTOCLAIM", Stream, Group, consumer, strconv.FormatInt(lease.Milliseconds(), 10), cursor, "COUNT", strconv.Itoa(count-len(out)))
		var re RedisError
		if errors.As(err, &re) && isNoGroup(re) {
			return nil, nil // nothing was ever started
		}
		if err != nil {
			return out, err
		}
		r, _ := v.([]any)
		if len(r) < 2 {
			return out, fmt.Errorf("%w: XAUTOCLAIM", errProtocol)
		}
		es, _ := r[1].([]any)
		for _, e := range es {
			if e == nil {
				continue // deleted while pending
			}
			in, _, err := decodeEntry(e)
			if err != nil {
				return out, err
			}
			out = append(out, in)
		}
		cursor, _ = r[0].(string)
		if cursor == "0-0" || cursor == "" {
			break
		}
	}
	return out, nil
}

func isNoGroup(e RedisError) bool { return len(e) >= 7 && string(e[:7]) == "NOGROUP" }

// Pending describes a pending intent for operators.
type Pending struct {
	Intent
	Owner      string        `json:"owner"` // the consumer holding the lease
	Idle       time.Duration `json:"idle"`  // since the owner's last heartbeat
	Deliveries int           `json:"deliveries"`
}

// List returns up to count pending intents, oldest first.
func (s *Store) List(ctx context.Context, count int) ([]Pending, error) {
	v, err := s.c.do(ctx, "XPENDING", Stream, Group, "-", "+", strconv.Itoa(count))
	var re RedisError
	if errors.As(err, &re) && isNoGroup(re) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows, _ := v.([]any)
	var out []Pending
	for _, row := range rows {
		r, _ := row.([]any)
		if len(r) != 4 {
			return nil, fmt.Errorf("%w: XPENDING", errProtocol)
		}
		id, _ := r[0].(string)
		in, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p := Pending{Intent: in}
		p.Owner, _ = r[1].(string)
		idle, _ := r[2].(int64)
		p.Idle = time.Duration(idle) * time.Millisecond
		d, _ := r[3].(int64)
		p.Deliveries = int(d)
		out = append(out, p)
	}
	return out, nil
}

// Dead is a dead-lettered intent.
type Dead struct {
	Intent
	// DeadID is the dead-letter entry's id (retry and drop take it).
	DeadID   string   `json:"deadId"`
	Attempt  int      `json:"attempt"`
	Errors   []string `json:"errors"`
	IntentID string   `json:"intentId"` // the intent's id while it was pending
}

// ListDead returns up to count dead letters, oldest first.
func (s *Store) ListDead(ctx context.Context, count int) ([]Dead, error) {
	v, err := s.c.do(ctx, "XRANGE", DeadStream, "-", "+", "COUNT", strconv.Itoa(count))
	if err != nil {
		return nil, err
	}
	es, _ := v.([]any)
	out := make([]Dead, 0, len(es))
	for _, e := range es {
		in, m, err := decodeEntry(e)
		if err != nil {
			return nil, err
		}
		out = append(out, deadOf(in, m))
	}
	return out, nil
}

// DeadPrefix starts every dead letter's id, so that it cannot be taken for
// a pending intent's (the two streams number their entries alike).
const DeadPrefix = "dead:"

func deadOf(in Intent, m map[string]string) Dead {
	d := Dead{Intent: in, DeadID: DeadPrefix + in.ID, IntentID: m["intent"]}
	d.Attempt, _ = strconv.Atoi(m["attempt"])
	_ = json.Unmarshal([]byte(m["errors"]), &d.Errors)
	return d
}

// GetDead returns the dead letter with the id.
func (s *Store) GetDead(ctx context.Context, deadID string) (Dead, error) {
	entry, ok := strings.CutPrefix(deadID, DeadPrefix)
	if !ok {
		return Dead{}, fmt.Errorf("%q is not a dead letter's id (they look like %s1712345678901-0)", deadID, DeadPrefix)
	}
	in, m, err := s.getFrom(ctx, DeadStream, entry)
	if err != nil {
		return Dead{}, err
	}
	return deadOf(in, m), nil
}

// Retry turns a dead letter back into an intent, with fresh attempts and
// the same task id, leased as expired so the recoverer runs it at its next
// poll. It returns the new intent's ID.
func (s *Store) Retry(ctx context.Context, deadID string) (string, error) {
	d, err := s.GetDead(ctx, deadID)
	if err != nil {
		return "", err
	}
	in := d.Intent
	// The new entry's id is its own; the task id must be written whatever
	// the dead letter's entry id is (in another stream, it can equal the
	// task id when both were written in the same millisecond).
	in.ID = ""
	id, err := s.appendIdle(ctx, in, "operator", expiredIdle)
	if err != nil {
		return "", err
	}
	if _, err := s.c.do(ctx, "XDEL", DeadStream, d.ID); err != nil {
		return id, err
	}
	return id, nil
}

// Drop removes a pending intent (its task will not run again; a container
// running it notices at its next heartbeat) or a dead letter (DeadPrefix).
func (s *Store) Drop(ctx context.Context, id string) error {
	entry, dead := strings.CutPrefix(id, DeadPrefix)
	if !dead {
		if _, err := s.Get(ctx, id); err != nil {
			return err
		}
		_, err := s.c.do(ctx, "EVAL", ackScript, "2", Stream, statePrefix+id, Group, id)
		return err
	}
	v, err := s.c.do(ctx, "XDEL", DeadStream, entry)
	if err != nil {
		return err
	}
	if n, _ := v.(int64); n == 0 {
		return ErrNotFound
	}
	return nil
}
