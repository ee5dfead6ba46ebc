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
// It does not know about OpenWhisk APIs: uploading the zip (wsk action
// create NAME --docker epilogue/action-go action.zip) and unpacking it
// (proxy/archive) belong elsewhere. It does not vendor, fetch or pin
// dependencies beyond what go build itself does.
package actionbuild
