package proxy

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The streaming reader of an /init body.
//
// The body is {"value":{"code":"…","binary":…,"main":…,"env":{…}}}, where
// code is up to 48 MB of base64. Reading it whole, unmarshalling it and
// decoding the base64 held three copies of the code in memory at once, so
// decodeInit reads the body once, as a stream, and keeps none of the code:
//
//   - a small scanner walks the JSON grammar byte by byte and follows the
//     path of the fields initRequest decodes (keys are matched as
//     encoding/json matches them, case-insensitively, the last of duplicate
//     keys winning);
//   - the code string is unescaped as it is read and fed to a streaming
//     base64 decoder that writes the decoded bytes to a sink (a temporary
//     file) and records the first error at the offset base64.DecodeString
//     would report; binary may come after code, so the decoding is
//     optimistic, and the code is also kept as text while it is small, for
//     binary false;
//   - everything else is copied into a skeleton of the body, in which the
//     code string and every string no field decodes (unknown keys, values of
//     the wrong type) are replaced by "" or "x", and runs of whitespace
//     between tokens by one space. The skeleton is then decoded with
//     encoding/json into initRequest, so that binary, main, env and every
//     error message ("Error unmarshaling request: …", of a syntax error or of
//     a value of the wrong type) are exactly upstream's. When the scanner
//     meets a syntax error it appends the offending byte (with the escape it
//     interrupts) and stops: encoding/json then reports the same error.
//
// The whole body is always read (up to its limit) before any answer, as
// upstream read it whole first, so that a read error or an oversized body is
// reported in preference to what its first bytes held.

// Bounds of the streaming reader beyond the body limit.
const (
	// maxInitFields bounds the skeleton: what the body holds besides the
	// code and the strings no field decodes (env, main, keys, structure).
	// Linux limits an environment to a few MiB, so an env near this bound
	// could not start anyway.
	maxInitFields = 4 << 20
	// maxTextCode bounds code sent as text (binary false), which is kept in
	// memory: it is a script, not an archive.
	maxTextCode = 4 << 20
	// maxJSONDepth is encoding/json's nesting limit.
	maxJSONDepth = 10000
	// maxKeyRaw: a longer key cannot name any field of initRequest.
	maxKeyRaw = 256
	// initReadChunk is how much of the body one read asks for.
	initReadChunk = 64 << 10
)

// initLimits bounds one decodeInit; zero fields take the defaults above.
type initLimits struct {
	Body   int64 // the body itself (Config.MaxInitBody)
	Fields int   // maxInitFields
	Text   int   // maxTextCode
}

// codeSink receives the decoded bytes of a base64 code string.
type codeSink interface {
	io.Writer
	// Reset discards what was written: a later "code" key replaces it.
	Reset() error
}

// initFields is what decodeInit read.
type initFields struct {
	Binary bool
	Main   string
	Env    map[string]json.RawMessage
	// HasCode: the code is not empty.
	HasCode bool
	// Text is the code as text (what encoding/json would have made of the
	// string); nil when it was longer than the text limit (TextTooLong).
	Text        []byte
	TextTooLong bool
	// CodeErr is the base64 error the code would get from
	// base64.StdEncoding.DecodeString, or nil when it is valid base64, in
	// which case Decoded bytes were written to the sink.
	CodeErr error
	Decoded int64
	// SinkErr is the sink's first write error; the code is then incomplete.
	SinkErr error
}

// Errors of decodeInit, in the order of precedence in which they are
// answered (the caller adds upstream's wording).
type (
	// initReadError: the body could not be read (the connection, the read
	// deadline).
	initReadError struct{ err error }
	// initTooLargeError: the body is over the limit.
	initTooLargeError struct{ limit int64 }
	// initFieldsError: the fields besides code are over maxInitFields.
	initFieldsError struct{ limit int }
	// initJSONError is encoding/json's error for the body.
	initJSONError struct{ err error }
)

func (e *initReadError) Error() string { return e.err.Error() }
func (e *initReadError) Unwrap() error { return e.err }
func (e *initTooLargeError) Error() string {
	return fmt.Sprintf("the /init body is larger than the limit of %d bytes", e.limit)
}
func (e *initFieldsError) Error() string {
	return fmt.Sprintf("the /init body's fields other than code (env, main and the rest) take more than %d bytes: "+
		"an action's environment cannot hold that much", e.limit)
}
func (e *initJSONError) Error() string { return e.err.Error() }
func (e *initJSONError) Unwrap() error { return e.err }

// errStop ends the scan: a syntax error (already written to the skeleton)
// or the end of the body in the middle of the JSON value.
var errStop = errors.New("stop")

// decodeInit reads an /init body from src, writing the base64-decoded code to
// sink, and returns the fields as json.Unmarshal into initRequest followed by
// base64.StdEncoding.DecodeString would have.
func decodeInit(src io.Reader, sink codeSink, lim initLimits) (*initFields, error) {
	if lim.Fields <= 0 {
		lim.Fields = maxInitFields
	}
	if lim.Text <= 0 {
		lim.Text = maxTextCode
	}
	d := &initDecoder{src: src, lim: lim, buf: make([]byte, initReadChunk), skel: make([]byte, 0, 512)}
	d.code.sink, d.code.textLimit = sink, lim.Text
	if lim.Body > 0 {
		d.src = io.LimitReader(src, lim.Body+1)
	}
	err := d.top()
	if err == nil || errors.Is(err, errStop) || errors.Is(err, errFieldsFull) {
		d.drain()
	}
	switch {
	case d.rerr != nil:
		return nil, &initReadError{d.rerr}
	case d.over:
		return nil, &initTooLargeError{lim.Body}
	case errors.Is(err, errFieldsFull):
		return nil, &initFieldsError{lim.Fields}
	}
	var req initRequest
	if err := json.Unmarshal(d.skel, &req); err != nil {
		return nil, &initJSONError{err}
	}
	f := &initFields{Binary: req.Value.Binary, Main: req.Value.Main, Env: req.Value.Env, HasCode: req.Value.Code != ""}
	if f.HasCode {
		c := &d.code
		c.b64.finish()
		f.CodeErr, f.Decoded, f.SinkErr = c.b64.err, c.b64.written, c.b64.werr
		f.Text, f.TextTooLong = c.text, c.textTooLong
	}
	return f, nil
}

// errFieldsFull: the skeleton reached its bound.
var errFieldsFull = errors.New("fields full")

// initDecoder is one decodeInit.
type initDecoder struct {
	src  io.Reader
	lim  initLimits
	buf  []byte
	r, w int   // unread bytes are buf[r:w]
	eof  bool  // src is exhausted (or over its limit)
	rerr error // src's read error
	n    int64 // bytes read from src
	over bool  // more than lim.Body bytes
	skel []byte
	code codeState
}

// fill reads more of the body into buf, keeping buf[r:w]. It reports whether
// anything was added.
func (d *initDecoder) fill() bool {
	if d.eof {
		return false
	}
	if d.r > 0 {
		d.w = copy(d.buf, d.buf[d.r:d.w])
		d.r = 0
	}
	if d.w == len(d.buf) {
		return true // full: the callers never ask for more than a few bytes ahead
	}
	for {
		n, err := d.src.Read(d.buf[d.w:])
		d.w += n
		d.n += int64(n)
		if d.lim.Body > 0 && d.n > d.lim.Body {
			d.over, d.eof = true, true
			return false // what is past the limit is never looked at
		}
		if err != nil {
			if err != io.EOF {
				d.rerr = err
			}
			d.eof = true
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// avail makes at least n bytes available if the body has them and returns
// how many are.
func (d *initDecoder) avail(n int) int {
	for d.w-d.r < n && d.fill() {
	}
	return d.w - d.r
}

// drain reads the rest of the body, to find a read error or the limit.
func (d *initDecoder) drain() {
	for !d.eof {
		d.r, d.w = 0, 0
		d.fill()
	}
}

func (d *initDecoder) emit(b ...byte) error {
	if len(d.skel)+len(b) > d.lim.Fields {
		return errFieldsFull
	}
	d.skel = append(d.skel, b...)
	return nil
}

// bad appends the byte at which the JSON is invalid, so that encoding/json
// reports the error, and stops the scan.
func (d *initDecoder) bad(prefix ...byte) error {
	if err := d.emit(prefix...); err != nil {
		return err
	}
	return errStop
}

// Where a value sits, which decides what the scanner keeps of it.
type jsonPlace int

const (
	placeTop    jsonPlace = iota // the body
	placeValue                   // the value of "value"
	placeCode                    // the value of "value"."code"
	placeKeep                    // "main", "env" and everything inside: kept verbatim
	placeIgnore                  // what initRequest does not decode (or fails on whatever its content)
)

func (d *initDecoder) top() error {
	if err := d.value(placeTop, 0); err != nil {
		return err
	}
	c, ok, err := d.space()
	if err != nil || !ok {
		return err
	}
	return d.bad(c) // something after the value
}

// space skips whitespace, writing one space for a run of it, and returns the
// next byte without consuming it; ok is false at the end of the body.
func (d *initDecoder) space() (c byte, ok bool, err error) {
	skipped := false
	for {
		if d.r == d.w && !d.fill() {
			break
		}
		c = d.buf[d.r]
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			ok = true
			break
		}
		d.r++
		skipped = true
	}
	if skipped {
		if err := d.emit(' '); err != nil {
			return 0, false, err
		}
	}
	return c, ok, nil
}

// peek skips white space and returns the next byte without taking it;
// errStop when the input ends first.
func (d *initDecoder) peek() (byte, error) {
	c, ok, err := d.space()
	if err == nil && !ok {
		err = errStop
	}
	return c, err
}

// next takes the byte peek returns.
func (d *initDecoder) next() (byte, error) {
	c, err := d.peek()
	if err == nil {
		d.r++
	}
	return c, err
}

// separator takes what follows an object member or an array element: end
// (the container's closing byte, done) or ','; anything else is bad.
func (d *initDecoder) separator(end byte) (done bool, err error) {
	c, err := d.next()
	if err != nil {
		return false, err
	}
	switch c {
	case end:
		return true, d.emit(c)
	case ',':
		return false, d.emit(c)
	}
	return false, d.bad(c)
}

func (d *initDecoder) value(place jsonPlace, depth int) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '{' || c == '[':
		d.r++
		if depth >= maxJSONDepth {
			return d.bad(c) // "exceeded max depth"
		}
		if err := d.emit(c); err != nil {
			return err
		}
		if c == '{' {
			return d.object(place, depth+1)
		}
		inner := placeIgnore
		if place == placeKeep {
			inner = placeKeep
		}
		return d.array(inner, depth+1)
	case c == '"':
		d.r++
		switch place {
		case placeKeep:
			return d.str(strVerbatim)
		case placeCode:
			return d.str(strCode)
		default:
			return d.str(strElide)
		}
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	}
	d.r++
	return d.bad(c)
}

func (d *initDecoder) object(place jsonPlace, depth int) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		d.r++
		return d.emit(c)
	}
	for {
		if c, err = d.next(); err != nil {
			return err
		}
		if c != '"' {
			return d.bad(c)
		}
		inner := placeIgnore
		switch place {
		case placeKeep:
			inner = placeKeep
			err = d.str(strVerbatim)
		case placeTop, placeValue:
			var key string
			key, err = d.key()
			inner = fieldPlace(place, key)
		default:
			err = d.str(strElide)
		}
		if err != nil {
			return err
		}
		if c, err = d.next(); err != nil {
			return err
		}
		if c != ':' {
			return d.bad(c)
		}
		if err := d.emit(c); err != nil {
			return err
		}
		if err := d.value(inner, depth); err != nil {
			return err
		}
		if done, err := d.separator('}'); done || err != nil {
			return err
		}
	}
}

// fieldPlace says where the value of key sits in an object at place,
// matching keys the way encoding/json matches struct fields.
func fieldPlace(place jsonPlace, key string) jsonPlace {
	switch {
	case place == placeTop && strings.EqualFold(key, "value"):
		return placeValue
	case place != placeValue:
		return placeIgnore
	case strings.EqualFold(key, "code"):
		return placeCode
	case strings.EqualFold(key, "main"), strings.EqualFold(key, "env"):
		return placeKeep
	}
	// "binary" included: its scalars are kept whatever the place, and a
	// string or a container fails whatever it holds.
	return placeIgnore
}

func (d *initDecoder) array(place jsonPlace, depth int) error {
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c == ']' {
		d.r++
		return d.emit(c)
	}
	for {
		if err := d.value(place, depth); err != nil {
			return err
		}
		if done, err := d.separator(']'); done || err != nil {
			return err
		}
	}
}

func (d *initDecoder) literal(word string) error {
	for i := 0; i < len(word); i++ {
		if d.r == d.w && !d.fill() {
			return errStop
		}
		c := d.buf[d.r]
		d.r++
		if c != word[i] {
			return d.bad(c)
		}
		if err := d.emit(c); err != nil {
			return err
		}
	}
	return nil
}

// number copies a number, following encoding/json's grammar. It stops
// before the first byte that does not continue it.
func (d *initDecoder) number() error {
	const (
		start = iota
		minus
		zero
		integer
		dot
		fraction
		exp
		expSign
		expDigits
	)
	state := start
	for {
		if d.r == d.w && !d.fill() {
			switch state {
			case zero, integer, fraction, expDigits:
				return nil
			}
			return errStop
		}
		c := d.buf[d.r]
		digit := c >= '0' && c <= '9'
		next := -1
		switch state {
		case start:
			switch {
			case c == '-':
				next = minus
			case c == '0':
				next = zero
			case digit:
				next = integer
			}
		case minus:
			switch {
			case c == '0':
				next = zero
			case digit:
				next = integer
			}
		case zero, integer:
			switch {
			case digit && state == integer:
				next = integer
			case c == '.':
				next = dot
			case c == 'e' || c == 'E':
				next = exp
			default:
				return nil
			}
		case dot:
			if digit {
				next = fraction
			}
		case fraction:
			switch {
			case digit:
				next = fraction
			case c == 'e' || c == 'E':
				next = exp
			default:
				return nil
			}
		case exp:
			switch {
			case c == '+' || c == '-':
				next = expSign
			case digit:
				next = expDigits
			}
		case expSign:
			if digit {
				next = expDigits
			}
		case expDigits:
			if !digit {
				return nil
			}
			next = expDigits
		}
		d.r++
		if next < 0 {
			return d.bad(c)
		}
		if err := d.emit(c); err != nil {
			return err
		}
		state = next
	}
}

// What str does with a string.
type strMode int

const (
	strVerbatim strMode = iota // copy it to the skeleton
	strElide                   // write "" (empty) or "x" in its place
	strCode                    // as strElide, and stream its content to the code state
)

// key reads an object key (the opening quote is consumed), copies it to the
// skeleton and returns it unescaped as encoding/json would. A key too long
// to name any field is written as "" and returned as "".
func (d *initDecoder) key() (string, error) {
	var raw []byte
	long := false
	err := d.scanString(func(p []byte) {
		if len(raw)+len(p) > maxKeyRaw {
			long, raw = true, nil
		}
		if !long {
			raw = append(raw, p...)
		}
	}, nil, true)
	if err != nil {
		return "", err
	}
	if long {
		return "", d.emit('"', '"')
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var key string
	if json.Unmarshal(quoted, &key) != nil {
		return "", d.bad('"') // cannot happen: the scanner validated it
	}
	return key, d.emit(quoted...)
}

// str reads a string whose opening quote is consumed.
func (d *initDecoder) str(mode strMode) error {
	if err := d.emit('"'); err != nil {
		return err
	}
	if mode == strVerbatim {
		err := d.scanString(func(p []byte) { d.skel = append(d.skel, p...) }, nil, false)
		if err != nil {
			return err
		}
		return d.emit('"')
	}
	var content func([]byte)
	if mode == strCode {
		d.code.reset()
		content = d.code.feed
	}
	empty := true
	if err := d.scanString(func([]byte) { empty = false }, content, false); err != nil {
		return err
	}
	if empty {
		return d.emit('"')
	}
	return d.emit('x', '"')
}

// replacement is U+FFFD, what encoding/json makes of invalid UTF-8 and of
// lone surrogates.
var replacement = []byte(string(utf8.RuneError))

// scanString validates a string whose opening quote is consumed, through its
// closing quote. raw receives the raw bytes of its content as they are
// validated (they may be appended to the skeleton, whose bound is checked
// after each piece); content, if not nil, receives the content unescaped
// exactly as encoding/json unquotes it. On a syntax error it writes to the
// skeleton (after an opening quote when quoteOnError) the escape it
// interrupts and the offending byte, and stops the scan.
func (d *initDecoder) scanString(raw func([]byte), content func([]byte), quoteOnError bool) error {
	var pending rune // a surrogate \u escape waiting for its pair
	var one [1]byte
	var enc [utf8.UTFMax]byte
	// out passes p on, after a pending lone surrogate's U+FFFD.
	out := func(p []byte) {
		if pending != 0 {
			content(replacement)
			pending = 0
		}
		if len(p) > 0 {
			content(p)
		}
	}
	fail := func(b ...byte) error {
		if quoteOnError {
			b = append([]byte{'"'}, b...)
		}
		return d.bad(b...)
	}
	for {
		if len(d.skel) > d.lim.Fields {
			return errFieldsFull
		}
		if d.r == d.w && !d.fill() {
			return errStop
		}
		seg := d.buf[d.r:d.w]
		i := 0
		for i < len(seg) {
			if c := seg[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
				break
			}
			i++
		}
		if i > 0 {
			raw(seg[:i])
			if content != nil {
				out(seg[:i])
			}
			d.r += i
			continue
		}
		switch c := seg[0]; {
		case c == '"':
			d.r++
			if content != nil {
				out(nil)
			}
			return nil
		case c < 0x20:
			d.r++
			return fail(c)
		case c >= utf8.RuneSelf:
			// A rune is decoded from the bytes that follow whatever they
			// are: the closing quote, a backslash or a control character is
			// never a continuation byte, so the result is the same as from
			// the string's content alone.
			d.avail(utf8.UTFMax)
			p := d.buf[d.r:d.w]
			r, size := utf8.DecodeRune(p)
			raw(p[:size])
			if content != nil {
				if r == utf8.RuneError && size == 1 {
					out(replacement)
				} else {
					out(p[:size])
				}
			}
			d.r += size
		default: // a backslash
			if d.avail(2) < 2 {
				// encoding/json ends its input with a space, which is an
				// error inside an escape: keep the escape to get the same.
				d.r = d.w
				return fail('\\')
			}
			p := d.buf[d.r:d.w]
			switch e := p[1]; e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				raw(p[:2])
				d.r += 2
				if content != nil {
					one[0] = unescape(e)
					out(one[:])
				}
			case 'u':
				n := d.avail(6)
				p = d.buf[d.r:d.w]
				var r rune
				for k := 2; k < 6; k++ {
					if k >= n {
						d.r += n
						return fail(p[:n]...) // as above
					}
					h, ok := unhex(p[k])
					if !ok {
						d.r += k + 1
						return fail(p[:k+1]...)
					}
					r = r<<4 | h
				}
				raw(p[:6])
				d.r += 6
				if content == nil {
					continue
				}
				if pending != 0 {
					if dec := utf16.DecodeRune(pending, r); dec != utf8.RuneError {
						pending = 0
						content(utf8.AppendRune(enc[:0], dec))
						continue
					}
					out(nil) // the lone surrogate becomes U+FFFD
				}
				if utf16.IsSurrogate(r) {
					pending = r
				} else {
					content(utf8.AppendRune(enc[:0], r))
				}
			default:
				d.r += 2
				return fail('\\', e)
			}
		}
	}
}

// unescape returns the byte a one-letter escape stands for.
func unescape(e byte) byte {
	switch e {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return e // '"', '\\', '/'
}

func unhex(c byte) (rune, bool) {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0'), true
	case 'a' <= c && c <= 'f':
		return rune(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}

// codeState follows the current code string: its text while it is short,
// and its base64 decoding.
type codeState struct {
	sink        codeSink
	text        []byte
	textTooLong bool
	textLimit   int
	b64         b64Stream
}

func (c *codeState) reset() {
	c.text, c.textTooLong = c.text[:0], false
	var werr error
	if c.sink != nil {
		werr = c.sink.Reset()
	}
	c.b64.reset(c.sink)
	c.b64.werr = werr
}

func (c *codeState) feed(p []byte) {
	if !c.textTooLong {
		switch n := len(c.text) + len(p); {
		case n > c.textLimit:
			c.text, c.textTooLong = nil, true
		case n > cap(c.text):
			// Double: append's smaller steps would allocate several
			// times the limit before a long code is found too long.
			t := make([]byte, len(c.text), min(max(2*cap(c.text), n, 4<<10), c.textLimit))
			c.text = append(t[:copy(t, c.text)], p...)
		default:
			c.text = append(c.text, p...)
		}
	}
	c.b64.write(p)
}

// b64Stream decodes standard base64 as it arrives, exactly as
// base64.StdEncoding.DecodeString decodes the whole: '\r' and '\n' are
// skipped anywhere, padding is required, nothing but newlines may follow
// it, and the first error is a base64.CorruptInputError at the same offset
// (which counts the skipped newlines). Decoded bytes go to out until the
// first error.
type b64Stream struct {
	out     io.Writer
	pos     int64   // offset of the next input byte
	quantum [4]byte // the current quantum's 6-bit values
	j       int     // how many of them are set
	state   int
	err     error // the first decoding error
	werr    error // out's first write error
	written int64
	buf     []byte
}

const (
	b64Data     = iota // inside the data
	b64SecondEq        // after "xx=": the second '=' must follow
	b64Padded          // after the padding: only newlines may follow
	b64Failed
)

var b64Alphabet = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		m[std[i]] = byte(i)
	}
	return m
}()

func (s *b64Stream) reset(out io.Writer) {
	buf := s.buf
	*s = b64Stream{out: out, buf: buf}
}

func (s *b64Stream) fail(at int64) {
	s.err, s.state = base64.CorruptInputError(at), b64Failed
}

func (s *b64Stream) emit(p []byte) {
	if s.werr != nil || s.out == nil {
		return
	}
	n, err := s.out.Write(p)
	s.written += int64(n)
	if err != nil {
		s.werr = err
	}
}

func (s *b64Stream) write(p []byte) {
	for len(p) > 0 {
		if s.state == b64Failed {
			s.pos += int64(len(p))
			return
		}
		if s.state == b64Data && s.j == 0 {
			// Fast path: whole quanta of the alphabet.
			n := 0
			for n < len(p) && b64Alphabet[p[n]] != 0xff {
				n++
			}
			if n -= n % 4; n > 0 {
				if s.buf == nil {
					s.buf = make([]byte, initReadChunk/4*3)
				}
				for k := 0; k < n; {
					m := min(n-k, len(s.buf)/3*4)
					dn, _ := base64.StdEncoding.Decode(s.buf, p[k:k+m])
					s.emit(s.buf[:dn])
					k += m
				}
				s.pos += int64(n)
				p = p[n:]
				continue
			}
		}
		s.byte(p[0])
		p = p[1:]
	}
}

// byte is base64's decodeQuantum, one input byte at a time.
func (s *b64Stream) byte(c byte) {
	at := s.pos
	s.pos++
	newline := c == '\n' || c == '\r'
	switch s.state {
	case b64Data:
		if v := b64Alphabet[c]; v != 0xff {
			s.quantum[s.j] = v
			s.j++
			if s.j == 4 {
				s.flush(4)
				s.j = 0
			}
			return
		}
		switch {
		case newline:
		case c != '=' || s.j < 2:
			s.fail(at)
		case s.j == 2:
			s.state = b64SecondEq
		default: // "xxx="
			s.state = b64Padded
		}
	case b64SecondEq:
		switch {
		case newline:
		case c == '=':
			s.state = b64Padded
		default:
			s.fail(at - 1) // base64 reports the byte before the one that is not '='
		}
	case b64Padded:
		if !newline {
			s.fail(at) // trailing garbage
		}
	}
}

// flush writes the bytes of the current quantum: n−1 of them for n values.
func (s *b64Stream) flush(n int) {
	q := s.quantum
	v := uint(q[0])<<18 | uint(q[1])<<12 | uint(q[2])<<6 | uint(q[3])
	b := [3]byte{byte(v >> 16), byte(v >> 8), byte(v)}
	s.emit(b[:n-1])
}

// finish ends the input: what DecodeString does at the end of its string.
func (s *b64Stream) finish() {
	switch s.state {
	case b64Data:
		if s.j > 0 {
			s.fail(s.pos - int64(s.j))
		}
	case b64SecondEq:
		s.fail(s.pos)
	case b64Padded:
		n := s.j // 2 or 3 values before the padding
		for k := n; k < 4; k++ {
			s.quantum[k] = 0
		}
		s.flush(n)
		s.state = b64Data
		s.j = 0
	}
}
