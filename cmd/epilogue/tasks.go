package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/epilogue-dev/epilogue/durable"
	"github.com/epilogue-dev/epilogue/durable/recoverer"
	"github.com/epilogue-dev/epilogue/internal/cli"
)

const tasksUsage = `Usage: epilogue tasks COMMAND --redis ADDR [flags] [ID]

Durable tasks (sdk.Task, sdk.Start) in the task store at ADDR (host:port
or redis://[:password@]host:port[/db]; default $EPILOGUE_TASKS_REDIS):

  recover [--apihost URL --auth UUID:KEY] re-invoke the actions of tasks whose lease lapsed, until stopped;
                                          the key defaults to $EPILOGUE_TASKS_AUTH, the API host and key to
                                          wsk's ($WSK_CONFIG_FILE, ~/.wskprops)
  list                                    the pending tasks and the dead letters
  show ID                                 one pending task (its state and errors) or dead letter, as JSON
  retry DEAD_ID                           run a dead-lettered task again (same task id, fresh attempts)
  drop ID                                 forget a pending task or a dead letter

Flags:
`

const storeBound = 30 * time.Second

func runTasks(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tasksUsage)
		return exitUsage
	}
	sub := args[0]
	fs := cli.NewFlagSet("epilogue tasks "+sub, tasksUsage, stderr)
	switch sub {
	case "-h", "-help", "--help", "help":
		fs.PrintUsage()
		return exitOK
	}
	addr := fs.String("redis", os.Getenv(durable.EnvRedis), "the task store's Redis address")
	apiHost := fs.String("apihost", "", "recover: OpenWhisk's API host, as wsk's --apihost (default: wsk's APIHOST property)")
	auth := fs.String("auth", os.Getenv(durable.EnvAuth), "recover: uuid:key allowed to invoke the tasks' actions, as wsk's --auth (default: $"+durable.EnvAuth+", else wsk's AUTH property)")
	insecure := fs.Bool("i", false, "recover: skip TLS verification, as wsk -i")
	lease := fs.Duration("lease", durable.DefaultLease, "recover: the lease, the same as the actions' "+durable.EnvLease)
	poll := fs.Duration("poll", recoverer.DefaultPoll, "recover: the time between two looks at the store")
	health := fs.String("health-listen", "", "recover: serve "+recoverer.HealthPath+" at this address (e.g. :8081): 200 while the task store answers, else 503")
	err := fs.Parse(args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	want := map[string]int{"recover": 0, "list": 0, "show": 1, "retry": 1, "drop": 1}
	n, known := want[sub]
	switch {
	case err != nil:
	case !known:
		err = fs.Fail("unknown tasks command %q: use recover, list, show, retry or drop", sub)
	case fs.NArg() != n:
		err = fs.Fail("epilogue tasks %s takes %d argument(s), got %d", sub, n, fs.NArg())
	case *addr == "":
		err = fs.Fail("no task store: pass --redis host:port or set %s", durable.EnvRedis)
	}
	if err != nil {
		return exitUsage
	}
	st, err := durable.Open(*addr)
	if err != nil {
		_ = fs.Fail("--redis: %v", err)
		return exitUsage
	}
	defer st.Close()
	if sub == "recover" {
		if *apiHost == "" || *auth == "" {
			props, err := wskProps(os.Getenv)
			if err != nil {
				_ = fs.Fail("cannot read wsk's properties for --apihost and --auth: %v", err)
				return exitUsage
			}
			*apiHost, *auth = cmp.Or(*apiHost, props["APIHOST"]), cmp.Or(*auth, props["AUTH"])
		}
		rec, err := recoverer.New(recoverer.Config{Store: st, APIHost: *apiHost, Auth: *auth, Insecure: *insecure, Lease: *lease, Poll: *poll,
			Logger: slog.New(slog.NewTextHandler(stderr, nil))})
		if err != nil {
			_ = fs.Fail("%v", err)
			return exitUsage
		}
		if *health != "" {
			stop, err := serveHealth(*health, rec)
			if err != nil {
				_ = fs.Fail("--health-listen: %v", err)
				return exitUsage
			}
			defer stop()
		}
		fmt.Fprintf(stdout, "epilogue tasks recover: watching %s, re-invoking through %s (lease %s)\n", *addr, *apiHost, *lease)
		if err := rec.Run(ctx); err != nil {
			fmt.Fprintln(stderr, "epilogue tasks recover:", err)
			return exitError
		}
		return exitOK
	}
	c, cancel := context.WithTimeout(ctx, storeBound)
	defer cancel()
	if err := tasksCommand(c, st, sub, fs.Arg(0), stdout); err != nil {
		fmt.Fprintf(stderr, "epilogue tasks %s: %v\n", sub, err)
		return exitError
	}
	return exitOK
}

// serveHealth serves the recoverer's health at addr until stop.
func serveHealth(addr string, rec *recoverer.Recoverer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+recoverer.HealthPath, rec.Health())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

func tasksCommand(ctx context.Context, st *durable.Store, sub, id string, stdout io.Writer) error {
	switch sub {
	case "list":
		return listTasks(ctx, st, stdout)
	case "show":
		return showTask(ctx, st, id, stdout)
	case "retry":
		newID, err := st.Retry(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dead letter %s is pending again as %s; the recoverer runs it at its next poll\n", id, newID)
		return nil
	default: // drop
		if err := st.Drop(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "dropped %s\n", id)
		return nil
	}
}

const listLimit = 1000

func listTasks(ctx context.Context, st *durable.Store, stdout io.Writer) error {
	pending, err := st.List(ctx, listLimit)
	if err != nil {
		return err
	}
	dead, err := st.ListDead(ctx, listLimit)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STATE\tID\tTASK\tACTION\tACTIVATION\tDETAIL")
	for _, p := range pending {
		fmt.Fprintf(w, "pending\t%s\t%s\t%s\t%s\towner %s, idle %s\n", p.ID, p.Task, p.Action, p.Activation, p.Owner, p.Idle.Round(time.Millisecond))
	}
	for _, d := range dead {
		last := ""
		if len(d.Errors) > 0 {
			last = d.Errors[len(d.Errors)-1]
		}
		fmt.Fprintf(w, "dead\t%s\t%s\t%s\t%s\t%d attempt(s); %s\n", d.DeadID, d.Task, d.Action, d.Activation, d.Attempt, last)
	}
	return w.Flush()
}

func showTask(ctx context.Context, st *durable.Store, id string, stdout io.Writer) error {
	if strings.HasPrefix(id, durable.DeadPrefix) {
		d, err := st.GetDead(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(stdout, map[string]any{"state": "dead", "deadLetter": d})
	}
	in, err := st.Get(ctx, id)
	if err != nil {
		return err
	}
	state, err := st.GetState(ctx, id)
	if err != nil {
		return err
	}
	return printJSON(stdout, map[string]any{"state": "pending", "intent": in, "progress": state})
}

func printJSON(stdout io.Writer, v any) error {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
