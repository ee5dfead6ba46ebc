package entity

import (
	"errors"
	"fmt"
)

// OpenWhisk's default action limits and their bounds (the controller's
// TimeLimit, MemoryLimit, LogLimit and ConcurrencyLimit with the stock
// configuration).
const (
	MinTimeoutMs     = 100
	MaxTimeoutMs     = 300_000 // 5 min
	DefaultTimeoutMs = 60_000  // 1 min

	MinMemoryMB     = 128
	MaxMemoryMB     = 512
	DefaultMemoryMB = 256

	MinLogsMB     = 0
	MaxLogsMB     = 10
	DefaultLogsMB = 10

	MinConcurrency     = 1
	MaxConcurrency     = 1
	DefaultConcurrency = 1
)

// Limits is an action's "limits" object.
type Limits struct {
	// Timeout is the time limit in milliseconds.
	Timeout int `json:"timeout"`
	// Memory is the memory limit in MB.
	Memory int `json:"memory"`
	// Logs is the log size limit in MB; 0 is legal and means no logs.
	Logs int `json:"logs"`
	// Concurrency is how many activations may share one instance.
	Concurrency int `json:"concurrency"`
}

// DefaultLimits returns OpenWhisk's defaults: 60 s, 256 MB, 10 MB of logs,
// concurrency 1.
func DefaultLimits() Limits {
	return Limits{Timeout: DefaultTimeoutMs, Memory: DefaultMemoryMB, Logs: DefaultLogsMB, Concurrency: DefaultConcurrency}
}

// WithDefaults returns l with every zero field set to its default. A zero
// Logs becomes 10 MB too, although 0 MB is a legal limit: a document that
// went through ParseActionPut or the store is already complete and must not
// be passed through WithDefaults.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.Memory == 0 {
		l.Memory = d.Memory
	}
	if l.Logs == 0 {
		l.Logs = d.Logs
	}
	if l.Concurrency == 0 {
		l.Concurrency = d.Concurrency
	}
	return l
}

// Validate reports every limit outside OpenWhisk's bounds, naming the bound
// and the wsk flag that sets it. The error wraps ErrInvalid.
func (l Limits) Validate() error {
	var errs []error
	check := func(field string, v, lo, hi int, unit, flag string) {
		switch {
		case v < lo:
			errs = append(errs, fmt.Errorf("%w: limits.%s %d %s is below the minimum of %d %s; allowed %d–%d %s (wsk %s)", ErrInvalid, field, v, unit, lo, unit, lo, hi, unit, flag))
		case v > hi:
			errs = append(errs, fmt.Errorf("%w: limits.%s %d %s is above the maximum of %d %s; allowed %d–%d %s (wsk %s)", ErrInvalid, field, v, unit, hi, unit, lo, hi, unit, flag))
		}
	}
	check("timeout", l.Timeout, MinTimeoutMs, MaxTimeoutMs, "ms", "--timeout")
	check("memory", l.Memory, MinMemoryMB, MaxMemoryMB, "MB", "--memory")
	check("logs", l.Logs, MinLogsMB, MaxLogsMB, "MB", "--logsize")
	check("concurrency", l.Concurrency, MinConcurrency, MaxConcurrency, "activations", "--concurrency")
	return errors.Join(errs...)
}

// LimitsPut is the "limits" object of a PUT body: absent fields are nil and
// take the default (create) or the old value (update).
type LimitsPut struct {
	Timeout     *int `json:"timeout,omitempty"`
	Memory      *int `json:"memory,omitempty"`
	Logs        *int `json:"logs,omitempty"`
	Concurrency *int `json:"concurrency,omitempty"`
}

// Over returns base with the fields present in p replaced.
func (p LimitsPut) Over(base Limits) Limits {
	if p.Timeout != nil {
		base.Timeout = *p.Timeout
	}
	if p.Memory != nil {
		base.Memory = *p.Memory
	}
	if p.Logs != nil {
		base.Logs = *p.Logs
	}
	if p.Concurrency != nil {
		base.Concurrency = *p.Concurrency
	}
	return base
}
