package process

import (
	"regexp"
	"strings"
)

// ActionGoImage is the only image this backend runs.
const ActionGoImage = "epilogue/action-go"

var (
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$`)
)

// SupportsImage reports whether ref names epilogue/action-go, with any tag
// or digest or none, optionally on docker.io: the images whose entry point
// is the epilogue-proxy this backend runs locally.
func SupportsImage(ref string) bool {
	name := ref
	if at := strings.IndexByte(name, '@'); at >= 0 {
		if !digestRE.MatchString(name[at+1:]) {
			return false
		}
		name = name[:at]
	}
	if colon := strings.LastIndexByte(name, ':'); colon > strings.LastIndexByte(name, '/') {
		if !tagRE.MatchString(name[colon+1:]) {
			return false
		}
		name = name[:colon]
	}
	for _, registry := range []string{"docker.io/", "index.docker.io/"} {
		name = strings.TrimPrefix(name, registry)
	}
	return name == ActionGoImage
}
