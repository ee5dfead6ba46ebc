// Package sysmon keeps the Go runtime's system monitor awake in a
// request-response process such as the action proxy.
//
// The runtime's monitor thread (sysmon) goes into a deep sleep whenever
// every processor is idle, and the first system call after that wakes it
// and resets its period to 20 µs. A proxy that waits between requests
// is idle many times per request (for the client, for the action), so
// every request pays for a futex wake-up and a burst of 20 µs polls on
// another CPU, which on a small host is the CPU the client or the action
// needs: make bench measured about a third of the proxy's CPU per request
// in that thread and its wake-ups (docs/performance.md). The runtime has
// no setting for it (golang/go#18236) except that sysmon never sleeps
// deeply while GODEBUG's schedtrace is set; it then backs off to one poll
// every 10 ms as it does in a busy program.
//
// Poll re-executes the program with schedtrace at its largest period
// (2^31-1 ms, about 24.8 days), so that the trace itself is printed at
// most once per that period of the host's uptime. The runtime prints it
// on file descriptor 2 before the program's main runs, so the
// re-executed program gets a pipe there instead, drops the SCHED lines
// read from it and passes everything else on to the real standard error,
// which os.Stderr, the log package and crash output (debug.SetCrashOutput)
// use directly.
//
// It owns that re-execution and the filter; it does not own what the
// program does with its standard error otherwise.
package sysmon
