package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// FlagSet is a flag.FlagSet that reports errors the way a user can act on:
// the error last, with the command to get the full usage.
type FlagSet struct {
	*flag.FlagSet
	name   string
	usage  string
	stderr io.Writer
}

// NewFlagSet returns a flag set for the command name (e.g. "epilogue
// standalone"). usage is printed, followed by the flags, for -h.
func NewFlagSet(name, usage string, stderr io.Writer) *FlagSet {
	f := &FlagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), name: name, usage: usage, stderr: stderr}
	// flag prints its own errors above a full usage dump; Parse prints
	// them instead, last.
	f.FlagSet.SetOutput(io.Discard)
	return f
}

// PrintUsage writes the usage text and every flag's help to the flag set's
// error output.
func (f *FlagSet) PrintUsage() {
	fmt.Fprint(f.stderr, f.usage)
	f.FlagSet.SetOutput(f.stderr)
	f.FlagSet.PrintDefaults()
	f.FlagSet.SetOutput(io.Discard)
}

// Parse parses args. For -h it prints the usage and returns flag.ErrHelp;
// for a wrong flag it prints the error (see Fail) and returns it.
func (f *FlagSet) Parse(args []string) error {
	err := f.FlagSet.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		f.PrintUsage()
		return err
	}
	return f.Fail("%v", err)
}

// Fail prints a command-line error, last, with the way to the full usage,
// and returns it.
func (f *FlagSet) Fail(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	fmt.Fprintf(f.stderr, "%s: %v\nRun '%s -h' for the usage.\n", f.name, err, f.name)
	return err
}

// Duration defines a duration flag that refuses a bare number with a hint
// to add a unit (flag's own says only "parse error").
func (f *FlagSet) Duration(name string, value time.Duration, help string) *time.Duration {
	d := value
	if !strings.Contains(help, "`") {
		// The backquoted word names the value in -h: "-linger duration".
		help += " (a `duration`, e.g. 5s)"
	}
	f.Var((*durationValue)(&d), name, help)
	return &d
}

type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Set(s string) error {
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// ParseDuration is time.ParseDuration with an error that says how to write
// a duration.
func ParseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err == nil {
		return v, nil
	}
	if s != "" && strings.Trim(s, "0123456789.") == "" {
		return 0, fmt.Errorf("%q has no unit: write a duration with one, e.g. %ss or %sms", s, s, s)
	}
	return 0, fmt.Errorf("%q is not a duration: write e.g. 5s, 250ms or 2m", s)
}

// IsVersion reports whether args ask for the version: `version`,
// `-version` or `--version` as the only argument.
func IsVersion(args []string) bool {
	if len(args) != 1 {
		return false
	}
	switch args[0] {
	case "version", "-version", "--version":
		return true
	}
	return false
}

// PrintVersion writes "NAME VERSION", the one form all commands use.
func PrintVersion(w io.Writer, name, version string) {
	fmt.Fprintln(w, name, version)
}
