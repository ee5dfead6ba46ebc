package api

import (
	"strings"

	"github.com/epilogue-dev/epilogue/standalone/entity"
)

// webPrefix is where web actions are served; everything after it is parsed
// by parseWebPath.
const webPrefix = "/api/v1/web/"

// webExtension is how a web action's result becomes the HTTP response.
type webExtension string

// The controller's media extensions, in the order it tries them on the
// action segment.
const (
	extHTTP webExtension = ".http"
	extJSON webExtension = ".json"
	extHTML webExtension = ".html"
	extSVG  webExtension = ".svg"
	extText webExtension = ".text"
)

var webExtensions = []webExtension{extHTTP, extJSON, extHTML, extSVG, extText}

// webTarget is the action a web request names.
type webTarget struct {
	namespace string
	// pkg is the package, "" for the segment "default".
	pkg    string
	action string
	ext    webExtension
	// rest is the path after the action segment, "" or "/a/b": __ow_path.
	rest string
}

// name is the action's name within its namespace, "act" or "pkg/act".
func (t webTarget) name() string {
	if t.pkg == "" {
		return t.action
	}
	return t.pkg + "/" + t.action
}

// parseWebPath reads NAMESPACE/PACKAGE/ACTION[.EXT][/REST], the path after
// /api/v1/web/, as the controller's route does: PACKAGE "default" is no
// package; an action segment ending in a known extension is split there,
// any other means .http. It reports false for a path that names no action,
// which the controller answers 404.
func parseWebPath(path string) (webTarget, bool) {
	segs := strings.SplitN(path, "/", 4)
	if len(segs) < 3 {
		return webTarget{}, false
	}
	t := webTarget{namespace: segs[0], pkg: segs[1], action: segs[2], ext: extHTTP}
	if len(segs) == 4 {
		t.rest = "/" + segs[3]
	}
	for _, ext := range webExtensions {
		if base, ok := strings.CutSuffix(t.action, string(ext)); ok {
			t.action, t.ext = base, ext
			break
		}
	}
	if t.pkg == "default" {
		t.pkg = ""
	}
	for _, name := range []string{t.namespace, t.pkg, t.action} {
		if name != "" && entity.ValidateName(name) != nil {
			return webTarget{}, false
		}
	}
	return t, t.namespace != "" && t.action != "" && segs[1] != ""
}
