package epilogue

import (
	"embed"
	"strings"
)

// SDKModule is the module path the SDK's packages are imported under.
const SDKModule = "github.com/epilogue-dev/epilogue"

// SDKSource holds the non-test .go files of sdk and of the in-module
// packages it imports, at their paths in this module. The list is by name,
// not by pattern, because a pattern would take the tests too;
// TestSDKSourceIsTheSDKsClosure fails when a file is added to one of these
// packages and not here.
//
//go:embed sdk/activation.go sdk/doc.go sdk/goroutines.go sdk/http.go sdk/log.go sdk/run.go sdk/tasks.go
//go:embed actionloop/actionside.go actionloop/doc.go actionloop/protocol.go actionloop/proxyside.go actionloop/reader.go actionloop/scan.go
//go:embed durable/doc.go durable/resp.go durable/store.go
//go:embed completion/client.go completion/completion.go completion/contract.go completion/doc.go completion/phase.go
var SDKSource embed.FS

//go:embed VERSION
var versionFile string

//go:embed go.mod
var goMod string

// Version is this source tree's version (the VERSION file): the epilogue
// binary's, and so the version of the SDK it carries.
var Version = strings.TrimSpace(versionFile)

// GoVersion is this module's go directive (e.g. 1.26.0): the SDK needs at
// least this Go.
var GoVersion = goDirective(goMod)

// goDirective returns the version of the first go line of a go.mod, or ""
// when there is none.
func goDirective(mod string) string {
	for _, line := range strings.Split(mod, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "go" {
			return f[1]
		}
	}
	return ""
}
