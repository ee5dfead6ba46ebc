// Package archive turns the code bytes of an OpenWhisk /init request into an
// action directory, safely. It recognises the bytes the way the upstream Go
// proxy does (a zip, a tar.gz, or else a single executable written as
// "exec"), and unlike upstream it refuses anything that could reach outside
// the directory: entry names that climb out, symlinks that point out, writes
// through a symlink the archive itself planted, hard links to files it did
// not extract. Decompression is bounded by counting the bytes actually
// produced, not the sizes the archive claims. Any bad entry fails the whole
// extraction and leaves the directory empty, so a half-written action never
// runs.
//
// It does not decide whether the result is runnable: finding the entry
// point, checking the exec file or launching it belongs to the proxy.
package archive
