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

	"github.com/epilogue-dev/epilogue"
	"github.com/epilogue-dev/epilogue/actionbuild"
	"github.com/epilogue-dev/epilogue/internal/cli"
	"github.com/epilogue-dev/epilogue/replay/live"
)

// version is the source tree's VERSION, embedded by the root package: the
// binary and the SDK it carries have one version, with or without
// -ldflags.
var version = epilogue.Version

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // the command line is wrong
)

const usage = `Usage: epilogue COMMAND [ARGS]

Commands:
  init DIR                    write a starter action (main.go, go.mod) into DIR
  build [-o action.zip] DIR   compile the Go action in DIR into a zip for the epilogue/action-go runtime
  standalone [flags]          run a single-machine OpenWhisk that wsk talks to (epilogue standalone -h)
  tasks recover|list|show|retry|drop  durable tasks: the recoverer and the operators' view (epilogue tasks -h)
  chaos [flags]               prove that no acknowledged write is lost: the fault-injection suite (epilogue chaos -h)
  k8s post-render [flags]     a Helm post-renderer wiring Epilogue into deploy-kube's invoker (epilogue k8s -h)
  replay [flags] DIR|--synthetic  compare keep-alive policies on an Azure Functions 2019 trace (epilogue replay -h)
  version                     print the version, and the SDK's carried in this binary
`

const buildUsage = `Usage: epilogue build [-o action.zip] DIR

Compiles the Go main package in DIR into a static linux/amd64 executable
named exec and writes it, alone, to a zip that the epilogue/action-go
runtime runs:

  wsk action create NAME --docker epilogue/action-go action.zip

DIR may be anywhere, with or without a go.mod: the SDK
(github.com/epilogue-dev/epilogue/sdk) comes with this binary, at its
version, and is added to a temporary copy of the go.mod when the go.mod
does not get it otherwise; DIR's files are never changed. No network is
needed for the SDK.

Flags:
`

const initUsage = `Usage: epilogue init DIR

Writes a starter action into DIR (created if missing): main.go, which
answers at once and finishes tracked work after its response, and a
go.mod. It overwrites nothing. Then:

  epilogue build DIR -o action.zip
  wsk action create NAME --docker epilogue/action-go action.zip
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
	if cli.IsVersion(args) {
		printVersion(stdout)
		return exitOK
	}
	switch args[0] {
	case "init":
		return runInit(args[1:], stdout, stderr)
	case "build":
		return runBuild(ctx, args[1:], stdout, stderr)
	case "standalone":
		return runStandalone(ctx, args[1:], stdout, stderr)
	case "tasks":
		return runTasks(ctx, args[1:], stdout, stderr)
	case "chaos":
		return runChaos(ctx, args[1:], stdout, stderr)
	case "k8s":
		return runK8s(ctx, args[1:], stdout, stderr)
	case "replay":
		return runReplay(ctx, args[1:], stdout, stderr)
	case replayActionCommand: // not listed: the live replay's containers run it
		live.ServeAction()
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "%s\nepilogue: unknown command %q\nRun 'epilogue help' for the commands.\n", usage, args[0])
		return exitUsage
	}
}

// printVersion says the binary's version and the SDK's it carries:
//
//	epilogue 0.1.0
//	sdk 0.1.0 (carried in this binary: source 0123456789ab, go1.26.0)
func printVersion(w io.Writer) {
	cli.PrintVersion(w, "epilogue", version)
	sdk := actionbuild.CarriedSDK()
	fmt.Fprintf(w, "sdk %s (carried in this binary: source %s, go%s)\n", sdk.Version, sdk.ShortHash(), sdk.GoVersion)
}

func runInit(args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("epilogue init", initUsage, stderr)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err == nil && fs.NArg() != 1 {
		err = fs.Fail("want one DIR, the directory for the new action, got %d arguments", fs.NArg())
	}
	if err != nil {
		return exitUsage
	}
	dir := fs.Arg(0)
	written, err := actionbuild.Init(dir)
	if err != nil {
		fmt.Fprintln(stderr, "epilogue init:", err)
		return exitError
	}
	for _, p := range written {
		fmt.Fprintln(stdout, "wrote", p)
	}
	fmt.Fprintf(stdout, "next: epilogue build %s -o action.zip\n", dir)
	return exitOK
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
// DIR. Usage errors are reported on stderr, last, with the way to -h.
func parseBuildArgs(args []string, stderr io.Writer) (actionbuild.Options, error) {
	fs := cli.NewFlagSet("epilogue build", buildUsage, stderr)
	output := fs.String("o", actionbuild.DefaultOutput, "the zip to write")

	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return actionbuild.Options{}, err
	}

	switch {
	case len(positional) == 0:
		return actionbuild.Options{}, fs.Fail("missing DIR, the directory of the action's main package")
	case len(positional) > 1:
		return actionbuild.Options{}, fs.Fail("want one DIR, got %d: %q", len(positional), positional)
	case *output == "":
		return actionbuild.Options{}, fs.Fail("-o must name a file")
	}
	return actionbuild.Options{Dir: positional[0], Output: *output}, nil
}

// parseInterspersed parses args with fs, flags before or after the
// positional arguments, and returns the positional ones. flag stops at the
// first positional argument: take it and parse the rest again, until
// nothing is left or "--" ends the flags.
func parseInterspersed(fs *cli.FlagSet, args []string) ([]string, error) {
	var positional []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
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
	return positional, nil
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
