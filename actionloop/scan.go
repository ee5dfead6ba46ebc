package actionloop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Every activation crosses the pipes as a few small JSON objects: the
// request line, the response frame, maybe a done frame. encoding/json's
// reflection costs several microseconds and dozens of allocations per
// object on each side, a visible share of an activation that takes a few
// hundred microseconds. So the hot shapes are read and written here by
// hand: json.Valid (a state machine, no allocations) checks the syntax,
// then members splits the top level, and only the rare fields (lists of
// names, escaped strings) go through encoding/json. The fuzz targets hold
// the results to encoding/json's.

// members calls f for each top-level member of obj, a JSON object already
// checked with json.Valid, with the key's raw text (inside the quotes,
// escapes undecoded) and the value's raw bytes, until f returns false.
func members(obj []byte, f func(key, value []byte) bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return // '}' or malformed
		}
		end := skipString(obj, i)
		key := obj[i+1 : end-1]
		i = skipSpace(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return
		}
		i = skipSpace(obj, i+1)
		start := i
		i = skipValue(obj, i)
		if !f(key, obj[start:i]) {
			return
		}
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != ',' {
			return
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = skipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}

// decodeKey decodes a raw key's escapes.
func decodeKey(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var s string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	_ = json.Unmarshal(q, &s)
	return s
}

// stringValue decodes a JSON string value; ok is false for any other value.
func stringValue(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	return s, json.Unmarshal(raw, &s) == nil
}

// appendString appends s as a JSON string, escaped as encoding/json does
// without HTML escaping.
func appendString(dst []byte, s string) []byte {
	simple := utf8.ValidString(s)
	for i := 0; simple && i < len(s); i++ {
		c := s[i]
		simple = c >= 0x20 && c != '"' && c != '\\' && c != 0x7f
	}
	if simple && !containsLineSeparator(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(dst, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// containsLineSeparator: encoding/json escapes U+2028 and U+2029.
func containsLineSeparator(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == 0xe2 && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
			return true
		}
	}
	return false
}

func appendStrings(dst []byte, key string, list []string) []byte {
	if len(list) == 0 {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, key...)
	dst = append(dst, `":[`...)
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

func appendStringField(dst []byte, key, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	return appendString(dst, s)
}

func appendInt(dst []byte, key string, v int64) []byte {
	if v == 0 {
		return dst
	}
	dst = append(dst, `,"`...)
	dst = append(dst, key...)
	dst = append(dst, `":`...)
	return strconv.AppendInt(dst, v, 10)
}

// AppendFrame appends f's encoding and a newline to dst, without
// reflection. The result goes as it is, byte for byte, unless it spans
// lines: then it is compacted, so the frame stays one line. A result that
// is not valid JSON is an error.
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	dst = append(dst, `{"epilogue":`...)
	dst = appendString(dst, string(f.Kind))
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, f.Seq, 10)
	if f.Done {
		dst = append(dst, `,"done":true`...)
	}
	dst = appendStrings(dst, "pending", f.Pending)
	dst = appendStrings(dst, "untracked", f.Untracked)
	dst = appendStringField(dst, "status", string(f.Status))
	dst = appendStringField(dst, "error", f.Error)
	dst = appendStrings(dst, "errors", f.Errors)
	dst = appendStrings(dst, "unfinished", f.Unfinished)
	if v := f.PostResponseMs; v != 0 {
		dst = append(dst, `,"postResponseMs":`...)
		if a := math.Abs(v); a < 1e21 && a >= 1e-6 {
			dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				return dst, err
			}
			dst = append(dst, b...)
		}
	}
	if f.Work != 0 {
		dst = append(dst, `,"work":`...)
		dst = strconv.AppendUint(dst, f.Work, 10)
	}
	dst = appendStringField(dst, "name", f.Name)
	dst = appendInt(dst, "start", f.Start)
	dst = appendInt(dst, "end", f.End)
	if len(f.Result) > 0 {
		if !json.Valid(f.Result) {
			return dst, fmt.Errorf("%w: the result is not valid JSON", ErrNotFrame)
		}
		dst = append(dst, `,"result":`...)
		if bytes.ContainsAny(f.Result, "\n\r") {
			var buf bytes.Buffer
			_ = json.Compact(&buf, f.Result)
			dst = append(dst, buf.Bytes()...)
		} else {
			dst = append(dst, f.Result...)
		}
	}
	return append(dst, "}\n"...), nil
}

// parseFrame reads a frame's members by hand (see ParseFrame).
func parseFrame(line []byte) (Frame, error) {
	var f Frame
	var err error
	bad := func(key string, v []byte) bool {
		err = fmt.Errorf("%w: %q is %s", ErrNotFrame, key, clipValue(v))
		return false
	}
	members(line, func(key, v []byte) bool {
		if string(v) == "null" {
			return true // as encoding/json: null leaves a field as it is
		}
		k := decodeKey(key)
		switch k {
		case "epilogue", "status", "error", "name":
			s, ok := stringValue(v)
			if !ok {
				return bad(k, v)
			}
			switch k {
			case "epilogue":
				f.Kind = FrameKind(s)
			case "status":
				f.Status = DoneStatus(s)
			case "name":
				f.Name = s
			default:
				f.Error = s
			}
		case "seq", "work":
			n, perr := strconv.ParseUint(string(v), 10, 64)
			if perr != nil {
				return bad(k, v)
			}
			if k == "seq" {
				f.Seq = n
			} else {
				f.Work = n
			}
		case "start", "end":
			n, perr := strconv.ParseInt(string(v), 10, 64)
			if perr != nil {
				return bad(k, v)
			}
			if k == "start" {
				f.Start = n
			} else {
				f.End = n
			}
		case "done":
			switch string(v) {
			case "true":
				f.Done = true
			case "false":
				f.Done = false
			default:
				return bad(k, v)
			}
		case "postResponseMs":
			n, perr := strconv.ParseFloat(string(v), 64)
			if perr != nil || v[0] == '"' {
				return bad(k, v)
			}
			f.PostResponseMs = n
		case "pending", "untracked", "errors", "unfinished":
			var list []string
			if json.Unmarshal(v, &list) != nil {
				return bad(k, v)
			}
			switch k {
			case "pending":
				f.Pending = list
			case "untracked":
				f.Untracked = list
			case "errors":
				f.Errors = list
			default:
				f.Unfinished = list
			}
		case "result":
			f.Result = append(json.RawMessage(nil), v...)
		}
		return true
	})
	return f, err
}

// clipValue shows a bad value in an error, shortened.
func clipValue(v []byte) string {
	if len(v) > 40 {
		return string(v[:40]) + "…"
	}
	return string(v)
}
