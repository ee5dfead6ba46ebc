package kube

import (
	"bytes"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// document is one YAML document of a rendered stream: the separator line
// that opened it ("" for the first) and its bytes, both kept verbatim so
// that what is not patched is written back byte for byte.
type document struct {
	sep  string
	body []byte
}

// header is what identifies a Kubernetes object.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Labels    map[string]string `json:"labels"`
	} `json:"metadata"`
}

// splitDocuments cuts a multi-document YAML stream at its "---" lines.
// Joining the result (joinDocuments) gives the input back exactly.
func splitDocuments(in []byte) []document {
	var docs []document
	cur := document{}
	for len(in) > 0 {
		line := in
		if i := bytes.IndexByte(in, '\n'); i >= 0 {
			line = in[:i+1]
		}
		in = in[len(line):]
		if isSeparator(line) {
			docs = append(docs, cur)
			cur = document{sep: string(line)}
			continue
		}
		cur.body = append(cur.body, line...)
	}
	return append(docs, cur)
}

// isSeparator reports whether line starts a new YAML document: "---" alone
// or followed by blanks or a comment.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " \t")
	return len(rest) == 0 || rest[0] == '\n' || rest[0] == '\r' || rest[0] == '#'
}

func joinDocuments(docs []document) []byte {
	var b bytes.Buffer
	for _, d := range docs {
		b.WriteString(d.sep)
		b.Write(d.body)
	}
	return b.Bytes()
}

// endsLine reports whether the document's text, its separator line
// included, is empty or ends with a newline: a document appended after
// one that does not would glue its "---" onto that last line (an input
// ending in "---" without a newline would become "------", a scalar).
func (d document) endsLine() bool {
	tail := d.body
	if len(tail) == 0 {
		tail = []byte(d.sep)
	}
	return len(tail) == 0 || tail[len(tail)-1] == '\n'
}

// empty reports whether a document holds nothing but blanks and comments
// (Helm leaves such documents for templates that rendered nothing).
func (d document) empty() bool {
	for _, l := range strings.Split(string(d.body), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// header decodes the object's identity. An empty document has none.
func (d document) header() (header, error) {
	var h header
	if d.empty() {
		return h, nil
	}
	if err := yaml.Unmarshal(d.body, &h); err != nil {
		return h, err
	}
	return h, nil
}

// leadingComments returns the comment lines before the object's first key
// (Helm's "# Source: chart/templates/file.yaml"), which a re-encoded
// document keeps.
func (d document) leadingComments() []byte {
	var out []byte
	rest := d.body
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' {
			break
		}
		out = append(out, line...)
		rest = rest[len(line):]
	}
	return out
}

// encode renders obj as the body of a document, after comments.
func encode(comments []byte, obj any) ([]byte, error) {
	y, err := yaml.Marshal(obj)
	if err != nil {
		return nil, err
	}
	body := append([]byte{}, comments...)
	if len(body) > 0 && body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	return append(body, y...), nil
}

// describe names an object for messages: "DaemonSet owdev-invoker".
func (h header) describe() string {
	if h.Metadata.Name == "" {
		return h.Kind
	}
	return fmt.Sprintf("%s %s", h.Kind, h.Metadata.Name)
}
