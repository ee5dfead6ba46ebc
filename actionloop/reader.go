package actionloop

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrLineTooLong is returned (wrapped) for a line longer than the reader's
// limit; the reader has skipped the rest of that line and stays usable.
var ErrLineTooLong = errors.New("actionloop: line too long")

// Reader reads newline-terminated lines with a size cap, so a runaway writer
// cannot make the other side allocate without bound.
type Reader struct {
	r   *bufio.Reader
	max int
}

// NewReader returns a Reader that accepts lines of at most max bytes
// (excluding the newline).
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// ReadLine returns the next line without its newline. The returned slice is
// valid until the next call. A final line without a newline is returned with
// a nil error; io.EOF follows.
func (r *Reader) ReadLine() ([]byte, error) {
	frag, err := r.r.ReadSlice('\n')
	if err == nil {
		if len(frag)-1 > r.max {
			return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrLineTooLong, len(frag)-1, r.max)
		}
		return frag[:len(frag)-1], nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		if len(frag) > 0 && errors.Is(err, io.EOF) && len(frag) <= r.max {
			return frag, nil
		}
		return nil, err
	}
	line := append([]byte(nil), frag...)
	total := len(frag)
	for {
		frag, err = r.r.ReadSlice('\n')
		total += len(frag)
		if len(line) <= r.max {
			line = append(line, frag...)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) && total <= r.max {
				return line, nil
			}
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrLineTooLong, total, r.max)
			}
			return nil, err
		}
	}
	n := total - 1
	if n > r.max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrLineTooLong, n, r.max)
	}
	return line[:n], nil
}
