// Command gateaction is the shim tests' action: its work after the
// response is an HTTP GET of the gate the activation names, which the test
// serves and answers only when it opens the gate. "Work still pending when
// the pause (or removal) arrives" is then true by construction, whatever the
// machine's load, instead of hoping a timer outlasts the docker CLI.
//
//	{"gate":"http://…/gate/1"} → {"accepted":true}, then GET the gate
//	{}                         → {"accepted":true}, nothing pending
//
// It lives under testdata: a fixture built by the tests (testenv.BuildStatic),
// not part of the module's packages.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/epilogue-dev/epilogue/sdk"
)

type params struct {
	Gate string `json:"gate"`
}

func handle(ctx context.Context, in params) (map[string]bool, error) {
	if in.Gate != "" {
		sdk.Go(ctx, "gated", func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.Gate, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("the gate answered %s", resp.Status)
			}
			return nil
		})
	}
	return map[string]bool{"accepted": true}, nil
}

func main() { sdk.Run(handle) }
