// Command tracetree prints one trace held by a Jaeger as an indented span
// tree, the text form of Jaeger's trace view; `make observe` runs it (a
// Jaeger built from the Go module serves no UI assets, only its API).
//
//	tracetree -jaeger http://127.0.0.1:16686 -trace 4bf92f3577b34da6a3ce929d0e0e4736 -until 'container pause'
//
// With -until it waits, up to -wait, for a span of that name to arrive.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/epilogue-dev/epilogue/tests/observe"
)

var traceID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func main() {
	jaeger := flag.String("jaeger", "http://127.0.0.1:16686", "Jaeger's query API")
	id := flag.String("trace", "", "the trace id: 32 lower-case hex digits")
	until := flag.String("until", "", "wait for a span of this name")
	wait := flag.Duration("wait", time.Minute, "how long to wait for the trace (and the -until span)")
	flag.Parse()
	if !traceID.MatchString(*id) {
		fmt.Fprintf(os.Stderr, "tracetree: -trace %q is not a trace id: give its 32 lower-case hex digits\n", *id)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *wait)
	defer cancel()
	for {
		tr, ok, err := observe.Fetch(ctx, *jaeger, *id)
		if err == nil && ok && (*until == "" || slices.ContainsFunc(tr.Spans, func(s observe.Span) bool { return s.OperationName == *until })) {
			fmt.Print(observe.Render(tr))
			return
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("trace %s (with a span %q) not in Jaeger within %s", *id, *until, *wait)
			}
			fmt.Fprintln(os.Stderr, "tracetree:", err)
			os.Exit(1)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
