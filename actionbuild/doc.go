// Package actionbuild turns a Go action's source directory into a zip that
// Epilogue's runtime (the epilogue/action-go image) runs: one entry, exec, a
// static linux/amd64 executable with mode 0755. The runtime never compiles,
// so this is the only way Go source becomes an action.
//
// Build checks the directory first, so the common mistakes get a message
// that names the next step (ErrNotGo, ErrNoMain); then it runs go build with
// CGO_ENABLED=0 GOOS=linux GOARCH=amd64 -trimpath -ldflags "-s -w", checks
// that the result is an amd64 ELF executable, and writes the zip atomically
// (a temporary file renamed into place), with a fixed modification time so
// that identical builds give byte-identical zips. Compiler errors come back
// whole in an error wrapping ErrCompile.
//
// The SDK travels with the binary: the module github.com/epilogue-dev/epilogue
// is on no module proxy, so Build supplies the SDK's source that the root
// package embeds (CarriedSDK: the binary's version), written once into the
// user's cache directory (epilogue/sdk/<content hash>), to an action that
// has no other way to get it, without touching the action's files. A
// directory without a go.mod gets one through go build -overlay; a go.mod
// that does not mention the SDK, or requires a version Go cannot find, is
// built through a temporary copy with a require and a replace added
// (-modfile). A go.mod that replaces the SDK itself, requires a version in
// its go.sum or the module cache, or belongs to this repository, is left to
// go build as it is. So a fresh directory builds offline.
//
// Init writes a starter action (main.go, go.mod) that builds at once.
//
// It does not know about OpenWhisk APIs: uploading the zip (wsk action
// create NAME --docker epilogue/action-go action.zip) and unpacking it
// (proxy/archive) belong elsewhere. Beyond the SDK, it does not vendor,
// fetch or pin dependencies: that is go build's.
package actionbuild
