// Package redisserver runs a real redis-server, started by the caller on a
// free port, without persistence: the store the end-to-end tests and the
// consistency suite (package chaos, `epilogue chaos`) write to and check.
// It is internal, not under tests/, because `epilogue chaos` links it.
//
// It owns starting and stopping the server process only; speaking to it is
// the callers' (go-redis), and installing redis-server is the operator's
// (ErrNotInstalled says how). Skipping or failing a test that lacks it is
// tests/testenv's (RequireRedis).
package redisserver
