// Package completion owns the wire shape of Epilogue's completion signal: the
// phases an activation goes through after OpenWhisk's /run, the status
// snapshot a runtime serves at /epilogue/status, the done record
// /epilogue/await returns, and the signed events a runtime pushes. The proxy
// produces these shapes; the standalone pool and the invoker shim consume
// them. The state machine that moves an activation between phases lives in
// proxy/activation, not here.
package completion
