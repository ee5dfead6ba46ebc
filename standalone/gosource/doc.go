// Package gosource runs OpenWhisk's Go actions on Epilogue's runtime image:
// it turns a Go source action (exec.kind go:1.22, go:default, …: one .go
// file, or a base64 zip of a Go module) into the zip of a static exec that
// epilogue/action-go runs, and maps wsk --native zips (kind blackbox, image
// openwhisk/dockerskeleton, an exec inside) onto that image. It is the
// standalone pool's Runtime.
//
// Both shapes of source build. OpenWhisk's own, a package main with
// func Main(obj map[string]interface{}) map[string]interface{} (or another
// function named by exec.main, capitalized as OpenWhisk's Go runtime does:
// "hello" → Hello), gets a generated func main that serves it through the
// SDK; a main package with its own func main (an SDK action, as `epilogue
// build` takes it) builds as it is. Code without a go.mod gets the one
// OpenWhisk's runtime makes (module exec), so that go build's messages read
// as there. The compile itself is actionbuild's, which adds the SDK to a
// go.mod that does not name it.
//
// OpenWhisk's Go runtime compiles at /init, so a compile error is the
// first invoke's failure, not the create's: Prepare returns go build's
// output as the developer error, which the pool records as the activation's
// {"error": …}, as the invoker records a failed /init. A compiled action is
// kept in the cache directory under the digest of its exec, so an action
// compiles once per server data directory, not once per container; the
// least recently used beyond Config.MaxCached are removed. A developer
// error is remembered in memory for Config.FailureTTL, so that invoking
// code that does not compile costs one compile a minute, not one per
// invoke (OpenWhisk's runtime compiles at every /init); a compile that ran
// out of time is not remembered.
//
// Untrusted input is bounded: a zip is unpacked with a cap on its entries
// and bytes, and only to relative paths inside the build directory (no
// absolute paths, "..", or links); a compile is killed after Config.Timeout;
// the error shown is capped at MaxErrorBytes. The go command missing on the
// host is an error naming it, not the developer's.
package gosource
