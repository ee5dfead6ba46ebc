// Package testenv owns the shared plumbing of tests that need real external
// components: a Docker engine, an image built by `make image`, a real
// redis-server on a free loopback port, a Chromium to drive headless, the
// Jaeger binary built from tools/jaeger, static builds of the module's
// commands and fixtures, child processes with their output kept
// (StartProcess), a real prometheus scraping the servers under test
// (RequirePrometheus, with Query and Await for PromQL), a reader of /metrics
// expositions (Scrape, Metrics); and Gate, which holds an action's
// post-response work until the test lets it go, so that tests assert the
// order of events rather than durations a busy machine stretches.
//
// A missing component skips the test, except when CI is "true": there the
// test fails, so that a CI job cannot pass by silently skipping what it is
// meant to exercise.
package testenv
