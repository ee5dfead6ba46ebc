package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/proxy"
)

func main() {
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *version {
		fmt.Println("epilogue-proxy", proxy.Version)
		return
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// The proxy relays one activation at a time between the invoker's
		// connection and the action's pipes: it needs one processor, not
		// one per host CPU. With more, every hop between its goroutines
		// (connection, fd 3 reader, log relays) may wake another thread on
		// another CPU, and on a virtual machine a wake-up costs more than
		// the hop's work: make bench measured 1.2–1.5× the throughput
		// with one. GOMAXPROCS in the environment still decides.
		runtime.GOMAXPROCS(1)
	}
	cfg, err := configFromEnv(os.Environ())
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = proxy.Run(ctx, cfg)
		stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "epilogue-proxy:", err)
		os.Exit(1)
	}
}

func configFromEnv(environ []string) (proxy.Config, error) {
	env := map[string]string{}
	actionEnv := map[string]string{}
	for _, kv := range environ {
		// Split at the first '=' only: values may contain '=' (upstream cut them).
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		env[k] = v
		if strings.HasPrefix(k, "__OW_") {
			actionEnv[k] = v
		}
	}
	sem, err := completion.ParseSemantics(env[completion.EnvSemantics])
	if err != nil {
		return proxy.Config{}, err
	}
	var ln net.Listener
	if v := env[completion.EnvListenFD]; v != "" {
		if ln, err = inheritedListener(v); err != nil {
			return proxy.Config{}, err
		}
	}
	return proxy.Config{
		Listener:     ln,
		Listen:       env[completion.EnvListen],
		ActionDir:    env[completion.EnvActionDir],
		Semantics:    sem,
		WaitForAck:   env["OW_WAIT_FOR_ACK"] != "",
		LogInitError: env["OW_LOG_INIT_ERROR"] != "",
		ExecutionEnv: env["OW_EXECUTION_ENV"],
		ActionEnv:    actionEnv,
		NotifyURL:    env[completion.EnvNotifyURL],
		NotifyToken:  env[completion.EnvNotifyToken],
		Instance:     env[completion.EnvInstance],
	}, nil
}

// inheritedListener turns an inherited listening socket into a listener. The
// listener holds a close-on-exec duplicate, so the original descriptor is
// closed and the action process never inherits it.
func inheritedListener(fdText string) (net.Listener, error) {
	fd, err := strconv.Atoi(fdText)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q is not an inherited descriptor number (3 or more)", completion.EnvListenFD, fdText)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("%s=%d is not a listening socket: %w", completion.EnvListenFD, fd, err)
	}
	return ln, nil
}
