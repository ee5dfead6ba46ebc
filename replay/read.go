package replay

import (
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Limits on untrusted input: a dataset file is a few hundred MB at most (the
// 2019 invocation files are about 150 MB); a minute's count above MaxCount is
// not a trace this simulator can replay call by call.
const (
	MaxFileBytes = 1 << 30
	MaxCount     = 1_000_000
	// MaxDays is the dataset's span (two weeks) with room to spare.
	MaxDays = 31
)

// The dataset's file names; %02d is the day.
const (
	invocationsFile = "invocations_per_function_md.anon.d%02d.csv"
	durationsFile   = "function_durations_percentiles.anon.d%02d.csv"
	memoryFile      = "app_memory_percentiles.anon.d%02d.csv"
)

var invocationsName = regexp.MustCompile(`^invocations_per_function_md\.anon\.d([0-9]{2})\.csv$`)

// InputError is malformed input, located: the file, the line (1-based) and,
// when one field is at fault, its column (1-based) and header name.
type InputError struct {
	File   string
	Line   int
	Column int    // 0: the line as a whole
	Name   string // the column's header name, if known
	Err    error
}

func (e *InputError) Error() string {
	switch {
	case e.Column == 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.Name != "":
		return fmt.Sprintf("%s:%d: column %d (%s): %v", e.File, e.Line, e.Column, e.Name, e.Err)
	}
	return fmt.Sprintf("%s:%d: column %d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// ReadOptions narrow what Read keeps.
type ReadOptions struct {
	// Sample, in (0, 1), keeps about that share of the functions, chosen
	// by a hash of their key: the same functions on every day and every
	// run. 0 keeps them all. The full 2019 dataset (some 50,000 functions
	// a day over 14 days) does not fit a small machine's memory whole.
	Sample float64
}

// keeps says whether the sample holds the function key.
func (o ReadOptions) keeps(key string) bool {
	if o.Sample <= 0 || o.Sample >= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return float64(h.Sum32()) < o.Sample*(1<<32)
}

// Read reads the dataset in dir: every invocations file, the days in
// order, and the durations and memory files beside them.
func Read(dir string, opts ReadOptions) (*Trace, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var days []int
	for _, e := range entries {
		if m := invocationsName.FindStringSubmatch(e.Name()); m != nil {
			d, _ := strconv.Atoi(m[1])
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return nil, fmt.Errorf("%s: no invocations_per_function_md.anon.dNN.csv file: not a dataset directory", dir)
	}
	slices.Sort(days)
	if len(days) > MaxDays {
		return nil, fmt.Errorf("%s: %d days of invocations, more than %d", dir, len(days), MaxDays)
	}
	for i, d := range days {
		if d != days[0]+i {
			return nil, fmt.Errorf("%s: day %02d is missing between day %02d and day %02d: the days must follow each other", dir, days[0]+i, days[0], days[len(days)-1])
		}
	}
	b := newBuilder(len(days))
	b.keep = opts.keeps
	for i, d := range days {
		if err := readFile(filepath.Join(dir, fmt.Sprintf(invocationsFile, d)), func(r io.Reader, name string) error {
			return b.invocations(r, name, i)
		}); err != nil {
			return nil, err
		}
	}
	for _, d := range days {
		for _, f := range []struct {
			pattern string
			parse   func(io.Reader, string) error
		}{{durationsFile, b.durations}, {memoryFile, b.memory}} {
			err := readFile(filepath.Join(dir, fmt.Sprintf(f.pattern, d)), f.parse)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	return b.trace(), nil
}

// readFile opens path and parses it, refusing a file over MaxFileBytes.
func readFile(path string, parse func(io.Reader, string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() > MaxFileBytes {
		return fmt.Errorf("%s: %d bytes, more than the %d a dataset file may have", path, info.Size(), int64(MaxFileBytes))
	}
	// The limit holds even if the file grows while it is read.
	return parse(io.LimitReader(f, MaxFileBytes), path)
}

// builder gathers a trace from the files, in the order Read parses them.
type builder struct {
	days    int
	keep    func(key string) bool // nil: every function
	scratch *Function             // where the rows out of the sample go
	fns     []*Function
	byKey   map[string]*Function
	timed   map[string]bool // functions whose durations were read
	appMB   map[string]int  // app key → MB
}

func newBuilder(days int) *builder {
	return &builder{days: days, byKey: map[string]*Function{}, timed: map[string]bool{}, appMB: map[string]int{}}
}

func (b *builder) trace() *Trace {
	t := &Trace{Days: b.days}
	for _, f := range b.fns {
		if mb, ok := b.appMB[f.AppKey()]; ok {
			f.MemoryMB = mb
		}
		t.Functions = append(t.Functions, *f)
	}
	return t
}

// table reads a CSV with a header naming at least the columns want; rows
// calls row with each record and the index of each wanted column.
type table struct {
	name string
	r    *csv.Reader
	head []string
	col  map[string]int
}

func openTable(r io.Reader, name string, want ...string) (*table, error) {
	t := &table{name: name, r: csv.NewReader(r), col: map[string]int{}}
	t.r.ReuseRecord = true
	head, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &InputError{File: name, Line: 1, Err: errors.New("empty file: want a header line")}
	}
	if err != nil {
		return nil, t.csvError(err)
	}
	t.head = slices.Clone(head)
	for i, h := range t.head {
		if _, dup := t.col[h]; dup {
			return nil, &InputError{File: name, Line: 1, Column: i + 1, Name: h, Err: errors.New("repeated column")}
		}
		t.col[h] = i
	}
	for _, w := range want {
		if _, ok := t.col[w]; !ok {
			return nil, &InputError{File: name, Line: 1, Err: fmt.Errorf("missing column %s", w)}
		}
	}
	return t, nil
}

// next returns the next record, nil at the end.
func (t *table) next() ([]string, error) {
	rec, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if errors.Is(err, csv.ErrFieldCount) {
		line, _ := t.r.FieldPos(0)
		return nil, &InputError{File: t.name, Line: line, Err: fmt.Errorf("%d columns, want %d (as the header)", len(rec), len(t.head))}
	}
	if err != nil {
		return nil, t.csvError(err)
	}
	return rec, nil
}

// csvError locates encoding/csv's errors (a wrong field count among them).
func (t *table) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &InputError{File: t.name, Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return fmt.Errorf("%s: %w", t.name, err)
}

// fieldError locates an error in column i of the current record.
func (t *table) fieldError(i int, err error) error {
	line, _ := t.r.FieldPos(i)
	return &InputError{File: t.name, Line: line, Column: i + 1, Name: t.head[i], Err: err}
}

// number parses column name of rec as a non-negative number at most limit.
func (t *table) number(rec []string, name string, limit float64) (float64, error) {
	i := t.col[name]
	v, err := strconv.ParseFloat(rec[i], 64)
	if err != nil || v < 0 || v > limit || v != v {
		return 0, t.fieldError(i, fmt.Errorf("%q is not a number from 0 to %g", rec[i], limit))
	}
	return v, nil
}

// key is the function's key and its parts from rec.
func (t *table) key(rec []string, cols ...string) (string, []string, error) {
	parts := make([]string, len(cols))
	key := ""
	for i, c := range cols {
		parts[i] = rec[t.col[c]]
		if parts[i] == "" {
			return "", nil, t.fieldError(t.col[c], errors.New("empty"))
		}
		if i > 0 {
			key += "/"
		}
		key += parts[i]
	}
	return key, parts, nil
}

// each calls row with every record after the header, its key (the
// columns cols joined by "/", none empty) and the key's parts.
func (t *table) each(cols []string, row func(rec []string, key string, parts []string) error) error {
	for {
		rec, err := t.next()
		if rec == nil || err != nil {
			return err
		}
		key, parts, err := t.key(rec, cols...)
		if err != nil {
			return err
		}
		if err := row(rec, key, parts); err != nil {
			return err
		}
	}
}

var fnCols = []string{"HashOwner", "HashApp", "HashFunction"}

func (b *builder) invocations(r io.Reader, name string, day int) error {
	want := append(slices.Clone(fnCols), "Trigger")
	t, err := openTable(r, name, want...)
	if err != nil {
		return err
	}
	// The minute columns: exactly 1…1440, after the four named ones.
	if len(t.head) != len(want)+MinutesPerDay {
		return &InputError{File: name, Line: 1, Err: fmt.Errorf("%d columns: want %d (%v and the minutes 1 to %d)", len(t.head), len(want)+MinutesPerDay, want, MinutesPerDay)}
	}
	minute := make([]int, MinutesPerDay)
	for m := range minute {
		i, ok := t.col[strconv.Itoa(m+1)]
		if !ok {
			return &InputError{File: name, Line: 1, Err: fmt.Errorf("missing column %d (a minute of the day)", m+1)}
		}
		minute[m] = i
	}
	seen := map[string]bool{}
	return t.each(fnCols, func(rec []string, key string, parts []string) error {
		if seen[key] {
			line, _ := t.r.FieldPos(0)
			return &InputError{File: name, Line: line, Err: fmt.Errorf("function %s appears twice", key)}
		}
		seen[key] = true
		f := b.byKey[key]
		if f == nil && b.keep != nil && !b.keep(key) {
			// Out of the sample: its counts are still checked, into
			// scratch.
			if b.scratch == nil {
				b.scratch = &Function{Counts: make([]int, b.days*MinutesPerDay)}
			}
			f = b.scratch
		} else if f == nil {
			f = &Function{Owner: parts[0], App: parts[1], Name: parts[2], Trigger: rec[t.col["Trigger"]],
				Counts: make([]int, b.days*MinutesPerDay), Duration: DefaultDuration, ColdStart: DefaultColdStart, MemoryMB: DefaultMemoryMB}
			b.byKey[key] = f
			b.fns = append(b.fns, f)
		}
		for m, i := range minute {
			n, err := strconv.Atoi(rec[i])
			if err != nil || n < 0 || n > MaxCount {
				return t.fieldError(i, fmt.Errorf("%q is not a count from 0 to %d", rec[i], MaxCount))
			}
			f.Counts[day*MinutesPerDay+m] = n
		}
		return nil
	})
}

// maxMs bounds durations: a day.
const maxMs = 24 * 60 * 60 * 1000

func (b *builder) durations(r io.Reader, name string) error {
	t, err := openTable(r, name, append(slices.Clone(fnCols), "Average")...)
	if err != nil {
		return err
	}
	return t.each(fnCols, func(rec []string, key string, _ []string) error {
		avg, err := t.number(rec, "Average", maxMs)
		if err != nil {
			return err
		}
		ms := map[string]float64{}
		for _, c := range []string{"EpilogueLingerMs", "EpilogueColdStartMs"} {
			if _, ok := t.col[c]; ok {
				if ms[c], err = t.number(rec, c, maxMs); err != nil {
					return err
				}
			}
		}
		f := b.byKey[key]
		if f == nil || b.timed[key] {
			return nil
		}
		b.timed[key] = true
		f.Duration = millis(avg)
		f.Linger = millis(ms["EpilogueLingerMs"])
		if v, ok := ms["EpilogueColdStartMs"]; ok {
			f.ColdStart = millis(v)
		}
		return nil
	})
}

// maxMB bounds an instance's memory: 64 GiB.
const maxMB = 64 << 10

func (b *builder) memory(r io.Reader, name string) error {
	t, err := openTable(r, name, "HashOwner", "HashApp", "AverageAllocatedMb")
	if err != nil {
		return err
	}
	return t.each([]string{"HashOwner", "HashApp"}, func(rec []string, key string, _ []string) error {
		mb, err := t.number(rec, "AverageAllocatedMb", maxMB)
		if err != nil {
			return err
		}
		if _, ok := b.appMB[key]; !ok {
			b.appMB[key] = max(1, int(mb+0.5))
		}
		return nil
	})
}

func millis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
