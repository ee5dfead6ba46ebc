package proxy

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/epilogue-dev/epilogue/completion"
	"github.com/epilogue-dev/epilogue/proxy/executor"
)

// meterName is the instrumentation scope of the proxy's metrics.
const meterName = "github.com/epilogue-dev/epilogue/proxy"

// counters count the registry's events: /epilogue/status serves them
// (completion.Counters) and, with Config.MeterProvider, OTLP exports them.
// Counting is a few atomic adds per phase change; the OTLP instruments are
// observed from these at each export, so /run pays nothing more for them.
type counters struct {
	runs, responded, done, expired, failed atomic.Uint64
	postResponseMicros                     atomic.Uint64
}

// onEvent counts one registry event.
func (c *counters) onEvent(ev completion.Event) {
	rec := ev.Activation
	if ev.Type != completion.PhaseChanged || rec == nil {
		return
	}
	switch rec.Phase {
	case completion.PhaseRunning:
		c.runs.Add(1)
		return
	case completion.PhaseResponded:
		c.responded.Add(1)
		return
	case completion.PhaseDone:
		c.done.Add(1)
	case completion.PhaseExpired:
		c.expired.Add(1)
	case completion.PhaseFailed:
		c.failed.Add(1)
	default:
		return
	}
	c.postResponseMicros.Add(uint64(math.Round(rec.PostResponseMs * 1000)))
}

func (c *counters) snapshot() completion.Counters {
	return completion.Counters{
		Runs: c.runs.Load(), Responded: c.responded.Load(),
		Done: c.done.Load(), Expired: c.expired.Load(), Failed: c.failed.Load(),
		PostResponseMs: float64(c.postResponseMicros.Load()) / 1000,
	}
}

// register observes the counters through mp's instruments, read at each
// export.
func (c *counters) register(mp metric.MeterProvider, instance string) error {
	m := mp.Meter(meterName)
	activations, err := m.Int64ObservableCounter("epilogue.proxy.activations",
		metric.WithDescription("Activations that ended, by outcome: done, expired or failed."))
	if err != nil {
		return err
	}
	runs, err := m.Int64ObservableCounter("epilogue.proxy.runs",
		metric.WithDescription("Activations admitted to the action."))
	if err != nil {
		return err
	}
	responded, err := m.Int64ObservableCounter("epilogue.proxy.responded",
		metric.WithDescription("Activations that answered with work still pending."))
	if err != nil {
		return err
	}
	post, err := m.Float64ObservableCounter("epilogue.proxy.post_response", metric.WithUnit("s"),
		metric.WithDescription("Time from answer to end, summed over the activations that ended."))
	if err != nil {
		return err
	}
	inst := attribute.String("service.instance.id", instance)
	outcome := func(p completion.Phase) metric.ObserveOption {
		return metric.WithAttributes(inst, attribute.String("outcome", string(p)))
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := c.snapshot()
		o.ObserveInt64(activations, int64(s.Done), outcome(completion.PhaseDone))
		o.ObserveInt64(activations, int64(s.Expired), outcome(completion.PhaseExpired))
		o.ObserveInt64(activations, int64(s.Failed), outcome(completion.PhaseFailed))
		o.ObserveInt64(runs, int64(s.Runs), metric.WithAttributes(inst))
		o.ObserveInt64(responded, int64(s.Responded), metric.WithAttributes(inst))
		o.ObserveFloat64(post, s.PostResponseMs/1000, metric.WithAttributes(inst))
		return nil
	}, activations, runs, responded, post)
	if err != nil {
		return fmt.Errorf("proxy: register the OTLP metrics: %w", err)
	}
	return nil
}

// registerBusyPoll observes the fd 3 reader's spins through mp's
// instruments: whether busy polling pays on this host is answered by how
// many spins caught the action's data against how many slept anyway, and
// what the spinning cost.
func registerBusyPoll(mp metric.MeterProvider, instance string, stats *executor.BusyPollStats) error {
	m := mp.Meter(meterName)
	spins, err := m.Int64ObservableCounter("epilogue.proxy.busy_poll.spins",
		metric.WithDescription("Spins on the action's fd 3 while an answer was due, by outcome: caught (its data came while spinning: a wake-up saved) or slept (the budget ran out, or the exchange gave up)."))
	if err != nil {
		return err
	}
	spinning, err := m.Float64ObservableCounter("epilogue.proxy.busy_poll.time", metric.WithUnit("s"),
		metric.WithDescription("Time spent spinning for an action's answer: the CPU busy polling costs."))
	if err != nil {
		return err
	}
	inst := attribute.String("service.instance.id", instance)
	caught := metric.WithAttributes(inst, attribute.String("outcome", "caught"))
	slept := metric.WithAttributes(inst, attribute.String("outcome", "slept"))
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c := stats.Counts()
		o.ObserveInt64(spins, int64(c.Caught), caught)
		o.ObserveInt64(spins, int64(c.Slept), slept)
		o.ObserveFloat64(spinning, c.Spinning.Seconds(), metric.WithAttributes(inst))
		return nil
	}, spins, spinning)
	if err != nil {
		return fmt.Errorf("proxy: register the OTLP busy-poll metrics: %w", err)
	}
	return nil
}
