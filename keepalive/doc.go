// Package keepalive owns the keep-alive and prewarm policies: when an idle
// instance of an action is released, when a specialised instance is started
// ahead of a predicted call, and which idle instance is evicted when memory
// runs out. It is pure decision logic on a caller's clock (every method takes
// the time), so the same code runs in the replay simulator's virtual time and
// in standalone/pool's wall-clock time (epilogue standalone --keepalive).
//
// Under Epilogue an instance is busy until its post-response work is done, so
// every policy measures an action's idle time from Done, never from the
// response: the idle time of a call is its arrival minus the previous done.
//
// The policies (New names them):
//
//   - fixed: OpenWhisk's invoker: an idle instance lives 10 minutes
//     (whisk.container-proxy.timeouts.idle-container) and is never prewarmed.
//   - histogram: the hybrid histogram policy of Shahrad et al. (ATC'20) per
//     action: idle times in 1-minute bins over 4 hours; prewarm at the 5th
//     percentile and keep until the 99th, with 10% margins; the standard
//     keep-alive (fixed's 10 minutes; the paper uses 4 hours, see
//     HistogramConfig.Standard) while the histogram is not representative
//     (fewer than 10 idle times, or a bin-count CV below 2); when most idle
//     times are beyond 4 hours, a forecast of the next one ± 10%: the
//     paper's ARIMA, here ARIMA(p, d, 0) with p ≤ 2 and d ≤ 1 chosen by
//     AIC and fitted by conditional least squares on the last 32 such
//     idle times (FitARIMA says why no moving-average terms); or release
//     at done when the forecast's standard error exceeds half of it (the
//     project's rule, not in the paper's policy: a window around an idle
//     time that cannot be told holds memory in vain).
//   - seasonal: arrivals per 5-minute bucket forecast by a least-squares
//     Fourier-series regression (the seed paper's Prophet idea): on the
//     time of day (order 4) and, once the history covers two weeks
//     (Prophet's rule), on the time of the week too (order 5, under a
//     ridge prior that weighs most when the history is short); an
//     instance is kept through a run of buckets predicted active and
//     prewarmed before the next one (looked for a day ahead, a week once
//     weekly).
//   - greedydual: FaasCache (ASPLOS'21): instances are kept until memory is
//     needed; the victim is the lowest clock + frequency × cold-start cost /
//     size.
//
// It does not own containers, memory accounting or time: the caller starts,
// pauses and removes instances and tells the policy what happened (an
// arrival, a done, a release: expired or evicted). NewWith sets what the
// platform decides, the standard keep-alive (epilogue standalone
// --idle-timeout). Scaled runs a policy K times faster than its caller's
// clock, so that a live replay (replay/live) decides in trace time. A
// prewarm starts a specialised instance (its /init done); it never runs the
// action's handler: that is the caller's contract.
package keepalive
