// Command tickfeed is a trigger feed that fires its trigger on a schedule.
// The firing runs after the feed has answered, as work the platform must
// keep the instance for: under Epilogue it does; a stock OpenWhisk freezes
// the instance after the answer and the schedule stalls.
//
//	wsk action create tickfeed --docker epilogue/action-go tickfeed.zip -t 300000
//	wsk trigger create ticks --feed tickfeed -p every_ms 1000 -p times 5
//
// The wsk CLI runs a feed's lifecycle itself: it creates the trigger with a
// "feed" annotation, then invokes the feed with lifecycleEvent CREATE,
// triggerName (/NAMESPACE/TRIGGER), authKey and the -p parameters. On
// CREATE tickfeed answers {"trigger":…,"times":5,"every_ms":1000} at once,
// then fires the trigger times times, every_ms apart, with
// {"tick":K,"of":N}, through the API at __OW_API_HOST with the caller's key.
// The schedule lives in that one activation, so times × every_ms must fit in
// the action's time limit (-t); it ends early, and the activation is done,
// when the trigger is deleted (a fire answers 404) or the deadline comes.
//
// READ answers the feed's view of the trigger; UPDATE and DELETE only
// acknowledge: deleting the trigger is what ends a running schedule.
//
// Deploy it with:
//
//	epilogue build examples/tickfeed -o tickfeed.zip && wsk action create tickfeed --docker epilogue/action-go tickfeed.zip -t 300000
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"

	"github.com/epilogue-dev/epilogue/sdk"
)

const (
	defaultEvery = 1000 // ms
	defaultTimes = 5
	maxTimes     = 10000
	// fireBound bounds one fire, so that a stuck API cannot hold the
	// activation to its deadline.
	fireBound = 30 * time.Second
)

type params struct {
	LifecycleEvent string `json:"lifecycleEvent"`
	TriggerName    string `json:"triggerName"`
	AuthKey        string `json:"authKey"`
	EveryMs        int    `json:"every_ms"`
	Times          int    `json:"times"`
}

type result struct {
	Trigger string `json:"trigger"`
	Event   string `json:"lifecycleEvent"`
	Times   int    `json:"times,omitempty"`
	EveryMs int    `json:"every_ms,omitempty"`
}

func feed(ctx context.Context, in params) (result, error) {
	ns, name, err := splitTrigger(in.TriggerName)
	if err != nil {
		return result{}, err
	}
	out := result{Trigger: in.TriggerName, Event: in.LifecycleEvent}
	switch in.LifecycleEvent {
	case "CREATE":
	case "READ", "UPDATE", "DELETE":
		return out, nil
	default:
		return result{}, fmt.Errorf("lifecycleEvent %q is none of CREATE, READ, UPDATE, DELETE: invoke a feed through wsk trigger create --feed, which passes it", in.LifecycleEvent)
	}
	out.Times, out.EveryMs = in.Times, in.EveryMs
	if out.Times == 0 {
		out.Times = defaultTimes
	}
	if out.EveryMs == 0 {
		out.EveryMs = defaultEvery
	}
	if out.Times < 0 || out.Times > maxTimes || out.EveryMs < 0 {
		return result{}, fmt.Errorf("times must be 1–%d and every_ms positive, got times %d, every_ms %d", maxTimes, out.Times, out.EveryMs)
	}
	a := sdk.From(ctx)
	if a == nil || a.APIHost == "" || in.AuthKey == "" {
		return result{}, errors.New("a feed needs __OW_API_HOST and authKey: create the trigger with wsk trigger create --feed, which passes the key")
	}
	client, err := whisk.NewClient(&http.Client{Timeout: fireBound}, &whisk.Config{Host: a.APIHost, AuthToken: in.AuthKey, Namespace: ns})
	if err != nil {
		return result{}, fmt.Errorf("an API client for %s: %w", a.APIHost, err)
	}
	every := time.Duration(out.EveryMs) * time.Millisecond
	sdk.Go(ctx, "fire "+in.TriggerName, func(ctx context.Context) error {
		return fire(ctx, client, name, out.Times, every)
	})
	return out, nil
}

// fire fires the trigger times times, every apart, starting after the
// first interval. A deleted trigger (404) ends the schedule without error.
func fire(ctx context.Context, client *whisk.Client, name string, times int, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for k := 1; k <= times; k++ {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("the deadline came after %d of %d fires: raise the action's time limit (-t) or lower times", k-1, times)
		}
		_, resp, err := client.Triggers.Fire(name, map[string]any{"tick": k, "of": times})
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			sdk.Logger(ctx).Info("the trigger was deleted; the schedule ends", "fired", k-1)
			return nil
		}
		if err != nil {
			return fmt.Errorf("fire %d of %d: %w", k, times, err)
		}
	}
	return nil
}

// splitTrigger splits the CLI's "/NAMESPACE/TRIGGER".
func splitTrigger(full string) (ns, name string, err error) {
	ns, name, ok := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	if !strings.HasPrefix(full, "/") || !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("triggerName %q is not /NAMESPACE/TRIGGER: invoke a feed through wsk trigger create --feed, which passes it", full)
	}
	return ns, name, nil
}

func main() { sdk.Run(feed) }
