package invokershim

import (
	"fmt"
	"net/http"
	pathpkg "path"
	"regexp"
	"strings"
)

// kind is how the shim handles an allowed call.
type kind int

const (
	// forwarded: to the daemon, as it came.
	forwarded kind = iota
	// creation: containers/create, rewritten for a runtime container.
	creation
	// unpausing: containers/{id}/unpause, which may cancel a deferred pause.
	unpausing
	// deferrable: an operation on a container (pause, removal, kill,
	// stop), which a runtime with work pending defers.
	deferrable
)

// handling is what the shim does with a call: its kind, and for an
// operation which one.
type handling struct {
	kind kind
	op   operation
}

// Rule allows one endpoint: a method and a path pattern without the API
// version prefix, where {id} is one path segment and {name} one or more
// (an image reference has slashes), e.g. "POST /containers/{id}/exec".
type Rule struct {
	Method  string
	Pattern string
}

func (r Rule) String() string { return r.Method + " " + r.Pattern }

// ParseRule reads "METHOD /path/pattern".
func ParseRule(s string) (Rule, error) {
	method, pattern, ok := strings.Cut(strings.TrimSpace(s), " ")
	pattern = strings.TrimSpace(pattern)
	if !ok || method == "" || !strings.HasPrefix(pattern, "/") || method != strings.ToUpper(method) {
		return Rule{}, fmt.Errorf("invokershim: %q is not an endpoint rule: write METHOD /path, e.g. %q", s, "POST /containers/{id}/exec")
	}
	r := Rule{Method: method, Pattern: pattern}
	if _, err := r.compile(); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// compile turns the pattern into an anchored regexp.
func (r Rule) compile() (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for _, seg := range strings.Split(strings.TrimPrefix(r.Pattern, "/"), "/") {
		b.WriteString("/")
		switch seg {
		case "{id}":
			b.WriteString(`([^/]+)`)
		case "{name}":
			b.WriteString(`(.+)`)
		default:
			if strings.ContainsAny(seg, "{}") {
				return nil, fmt.Errorf("invokershim: %q: only {id} and {name} may stand for path segments", r)
			}
			b.WriteString(regexp.QuoteMeta(seg))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// DefaultRules are the endpoints an OpenWhisk invoker's docker CLI uses
// (OpenWhisk's DockerClient and DockerContainer), plus the streaming ones a docker run may follow.
var DefaultRules = []Rule{
	{"HEAD", "/_ping"}, {"GET", "/_ping"}, {"GET", "/version"}, {"GET", "/info"},
	{"POST", "/containers/create"},
	{"GET", "/containers/json"},
	{"GET", "/containers/{id}/json"},
	{"POST", "/containers/{id}/start"},
	{"POST", "/containers/{id}/wait"},
	{"POST", "/containers/{id}/attach"},
	{"POST", "/containers/{id}/resize"},
	{"GET", "/containers/{id}/logs"},
	{"POST", "/containers/{id}/pause"},
	{"POST", "/containers/{id}/unpause"},
	{"POST", "/containers/{id}/kill"},
	{"POST", "/containers/{id}/stop"},
	{"DELETE", "/containers/{id}"},
	{"POST", "/images/create"},
	{"GET", "/images/{name}/json"},
	{"GET", "/events"},
}

// intercepted are the calls the shim handles itself; every other allowed
// call is forwarded.
var intercepted = map[Rule]handling{
	{"POST", "/containers/create"}:       {kind: creation},
	{"POST", "/containers/{id}/pause"}:   {deferrable, pauseOp},
	{"POST", "/containers/{id}/unpause"}: {kind: unpausing},
	{"POST", "/containers/{id}/kill"}:    {deferrable, killOp},
	{"POST", "/containers/{id}/stop"}:    {deferrable, stopOp},
	{"DELETE", "/containers/{id}"}:       {deferrable, removeOp},
}

// name is the call's name in spans: its operation, or "unpause".
func (h handling) name() string {
	if h.kind == unpausing {
		return "unpause"
	}
	return string(h.op)
}

// route is a compiled rule.
type route struct {
	rule     Rule
	re       *regexp.Regexp
	handling handling
}

// router matches calls against the allowlist.
type router struct{ routes []route }

func newRouter(extra []Rule) (*router, error) {
	rt := &router{}
	for _, r := range append(append([]Rule(nil), DefaultRules...), extra...) {
		re, err := r.compile()
		if err != nil {
			return nil, err
		}
		rt.routes = append(rt.routes, route{rule: r, re: re, handling: intercepted[r]})
	}
	return rt, nil
}

// versionRE is the API version prefix the docker CLI puts on every path
// but /_ping's.
var versionRE = regexp.MustCompile(`^/v[0-9]+(\.[0-9]+)?(/|$)`)

// unversioned is path without its API version prefix.
func unversioned(path string) string {
	return versionRE.ReplaceAllString(path, "/")
}

// match returns how the call is handled and, for a container call, the
// container named in the path.
func (rt *router) match(r *http.Request) (h handling, container string, ok bool) {
	if !clean(r.URL.Path) {
		// "..", "." and empty segments could make an allowed pattern
		// name another endpoint once the daemon cleans the path.
		return handling{}, "", false
	}
	path := unversioned(r.URL.Path)
	for _, ro := range rt.routes {
		if ro.rule.Method != r.Method {
			continue
		}
		if m := ro.re.FindStringSubmatch(path); m != nil {
			if strings.HasPrefix(ro.rule.Pattern, "/containers/{id}") && len(m) > 1 {
				container = m[1]
			}
			return ro.handling, container, true
		}
	}
	return handling{}, "", false
}

// streaming reports whether r is a call whose answer may go on as long as
// the container (or the daemon) does.
func streaming(r *http.Request) bool {
	path := unversioned(r.URL.Path)
	switch {
	case path == "/events":
		return true
	case strings.HasSuffix(path, "/logs"):
		f := r.URL.Query().Get("follow")
		return f == "1" || f == "true"
	case strings.HasSuffix(path, "/wait"), strings.HasSuffix(path, "/attach"):
		return true
	}
	return false
}

// clean reports whether p is an absolute path without ".", ".." or empty
// segments, as the docker CLI sends every path.
func clean(p string) bool {
	return strings.HasPrefix(p, "/") && pathpkg.Clean(p) == p
}

// suggest is the --allow rule that would forward a denied call: container
// and exec ids become {id}.
func suggest(r *http.Request) string {
	segs := strings.Split(strings.TrimPrefix(unversioned(r.URL.Path), "/"), "/")
	for i := 1; i < len(segs); i++ {
		switch segs[i-1] {
		case "containers", "exec", "networks", "volumes", "plugins":
			if segs[i] != "json" && segs[i] != "create" && segs[i] != "prune" {
				segs[i] = "{id}"
			}
		}
	}
	return r.Method + " /" + strings.Join(segs, "/")
}
