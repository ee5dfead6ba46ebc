// Package e2e holds end-to-end tests that run the shipped artefacts in real
// external components: the epilogue/action-go image (built by `make image`)
// in a Docker engine, started and driven the way the OpenWhisk invoker does.
//
// Without a Docker engine or the image the tests skip; with CI=true they fail
// (see package testenv). Run them with:
//
//	make image && go test -race -count=1 ./tests/e2e
//
// The package has no non-test code; this file only documents it.
package e2e
