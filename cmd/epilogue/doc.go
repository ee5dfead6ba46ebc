// Command epilogue is Epilogue's command-line tool.
//
//	epilogue build [-o action.zip] DIR   compile the Go action in DIR into a zip
//	epilogue standalone [flags]          run a single-machine OpenWhisk on 127.0.0.1:3233
//	epilogue chaos [flags]               run the consistency fault-injection suite
//	epilogue version                     print the version
//
// The zip holds one static linux/amd64 executable named exec, which the
// epilogue/action-go runtime runs:
//
//	epilogue build ./myaction -o action.zip
//	wsk action create NAME --docker epilogue/action-go action.zip
//
// It owns the command line only: parsing flags and arguments, exit codes,
// and wiring each command to the package that does the work. It does not
// own building actions (actionbuild), the single-machine platform
// (standalone) or the fault-injection suite and its report (chaos,
// chaos/report); it links nothing under tests/ (tests/layout checks).
package main
