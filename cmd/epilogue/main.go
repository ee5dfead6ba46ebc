package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/epilogue-dev/epilogue/actionbuild"
)

// version is set at link time: -ldflags "-X main.version=$(VERSION)".
var version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // the command line is wrong
)

const usage = `Usage: epilogue COMMAND [ARGS]

Commands:
  build [-o action.zip] DIR   compile the Go action in DIR into a zip for the epilogue/action-go runtime
  standalone [flags]          run a single-machine OpenWhisk that wsk talks to (epilogue standalone -h)
  chaos [flags]               prove that no acknowledged write is lost: the fault-injection suite (epilogue chaos -h)
  k8s post-render [flags]     a Helm post-renderer wiring Epilogue into deploy-kube's invoker (epilogue k8s -h)
  version                     print the version
`

const buildUsage = `Usage: epilogue build [-o action.zip] DIR

Compiles the Go main package in DIR into a static linux/amd64 executable
named exec and writes it, alone, to a zip that the epilogue/action-go
runtime runs:

  wsk action create NAME --docker epilogue/action-go action.zip

Flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "build":
		return runBuild(ctx, args[1:], stdout, stderr)
	case "standalone":
		return runStandalone(ctx, args[1:], stdout, stderr)
	case "chaos":
		return runChaos(ctx, args[1:], stdout, stderr)
	case "k8s":
		return runK8s(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "epilogue", version)
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "epilogue: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opt, err := parseBuildArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	res, err := actionbuild.Build(ctx, opt)
	if err != nil {
		fmt.Fprintln(stderr, "epilogue build:", err)
		return exitError
	}
	fmt.Fprintf(stdout, "built %s (exec %s, zip %s) in %.1fs\n",
		res.Output, size(res.ExecBytes), size(res.ZipBytes), res.Duration.Seconds())
	return exitOK
}

// parseBuildArgs parses `build`'s arguments. Flags may come before or after
// DIR. Usage errors are reported on stderr, followed by the usage.
func parseBuildArgs(args []string, stderr io.Writer) (actionbuild.Options, error) {
	fs := flag.NewFlagSet("epilogue build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, buildUsage)
		fs.PrintDefaults()
	}
	output := fs.String("o", actionbuild.DefaultOutput, "the zip to write")

	// flag stops at the first positional argument: take it and parse the
	// rest again, until nothing is left or "--" ends the flags.
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return actionbuild.Options{}, err
		}
		rest := fs.Args()
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}

	switch {
	case len(positional) == 0:
		return actionbuild.Options{}, usageError(fs, "missing DIR, the directory of the action's main package")
	case len(positional) > 1:
		return actionbuild.Options{}, usageError(fs, fmt.Sprintf("want one DIR, got %d: %q", len(positional), positional))
	case *output == "":
		return actionbuild.Options{}, usageError(fs, "-o must name a file")
	}
	return actionbuild.Options{Dir: positional[0], Output: *output}, nil
}

func usageError(fs *flag.FlagSet, msg string) error {
	fmt.Fprintln(fs.Output(), msg)
	fs.Usage()
	return errors.New(msg)
}

// size formats n bytes in decimal units, one decimal place: "5.1 MB".
func size(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%d B", n)
	}
}
