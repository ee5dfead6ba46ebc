// Package epilogue carries the Go action SDK's own source, so that the
// epilogue binary can build an action anywhere, offline, against exactly the
// SDK it was built with: the module github.com/epilogue-dev/epilogue is not
// published on any module proxy, so `go get` of the SDK cannot work outside
// this repository.
//
// It owns the list of files that make up the SDK as a module (sdk and the
// in-module packages it imports, actionloop and completion; the SDK imports
// nothing else outside the standard library), the source tree's version
// (the VERSION file) and its go directive. A test keeps the list equal to
// what `go list -deps ./sdk` says.
//
// It does not write the SDK anywhere or wire it into a build: actionbuild
// does that. It imports nothing but the standard library, so that every
// command may link it.
package epilogue
