// Command epilogue is Epilogue's command-line tool.
//
//	epilogue init DIR                    write a starter action into DIR
//	epilogue build [-o action.zip] DIR   compile the Go action in DIR into a zip
//	epilogue standalone [flags]          run a single-machine OpenWhisk on 127.0.0.1:3233
//	epilogue chaos [flags]               run the consistency fault-injection suite
//	epilogue version                     print the version and the SDK's it carries
//
// The zip holds one static linux/amd64 executable named exec, which the
// epilogue/action-go runtime runs:
//
//	epilogue build ./myaction -o action.zip
//	wsk action create NAME --docker epilogue/action-go action.zip
//
// DIR may be anywhere, with or without a go.mod: the SDK travels with the
// binary (actionbuild supplies it). The version is the source tree's
// VERSION, embedded by the root package, and is the SDK's too.
//
// It owns the command line only (through internal/cli, like the other
// commands): parsing flags and arguments, exit codes,
// and wiring each command to the package that does the work. It does not
// own building actions (actionbuild), the single-machine platform
// (standalone) or the fault-injection suite and its report (chaos,
// chaos/report); it links nothing under tests/ (tests/layout checks).
package main
