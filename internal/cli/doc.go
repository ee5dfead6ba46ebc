// Package cli is how Epilogue's commands (epilogue, epilogue-proxy,
// epilogue-shim) meet a user on the command line, so that all three behave
// alike: a flag error is printed last, after a one-line hint and without a
// full usage dump above it; a duration given without a unit says to write
// one ("e.g. 5s"); and the version answers the same to `NAME version` and
// `NAME --version`.
//
// It owns no command's flags or configuration: each command declares its
// own and turns them into its feature's Config.
package cli
