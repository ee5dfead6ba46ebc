package replay

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Write writes t into dir (created if missing) in the dataset's format, one
// set of files per day, every function on every day; Read reads it back.
func Write(dir string, t *Trace) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for d := range t.Days {
		day := d + 1
		if err := writeFile(filepath.Join(dir, fmt.Sprintf(invocationsFile, day)), func(w *bufio.Writer) {
			w.WriteString("HashOwner,HashApp,HashFunction,Trigger")
			for m := 1; m <= MinutesPerDay; m++ {
				w.WriteString("," + strconv.Itoa(m))
			}
			w.WriteString("\n")
			for _, f := range t.Functions {
				fmt.Fprintf(w, "%s,%s,%s,%s", f.Owner, f.App, f.Name, f.Trigger)
				for _, c := range f.Counts[d*MinutesPerDay : (d+1)*MinutesPerDay] {
					w.WriteString("," + strconv.Itoa(c))
				}
				w.WriteString("\n")
			}
		}); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, fmt.Sprintf(durationsFile, day)), func(w *bufio.Writer) {
			w.WriteString("HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,EpilogueLingerMs,EpilogueColdStartMs\n")
			for _, f := range t.Functions {
				avg := ms(f.Duration)
				fmt.Fprintf(w, "%s,%s,%s,%s,%d,%s,%s,%s,%s\n", f.Owner, f.App, f.Name, avg,
					invocations(f.Counts[d*MinutesPerDay:(d+1)*MinutesPerDay]), avg, avg, ms(f.Linger), ms(f.ColdStart))
			}
		}); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, fmt.Sprintf(memoryFile, day)), func(w *bufio.Writer) {
			w.WriteString("HashOwner,HashApp,SampleCount,AverageAllocatedMb\n")
			seen := map[string]bool{}
			for _, f := range t.Functions {
				if !seen[f.AppKey()] {
					seen[f.AppKey()] = true
					fmt.Fprintf(w, "%s,%s,1,%d\n", f.Owner, f.App, f.MemoryMB)
				}
			}
		}); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes path through fill; a write error surfaces at Flush.
func writeFile(path string, fill func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ms prints d in milliseconds, exactly (to the microsecond).
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', -1, 64)
}

func invocations(counts []int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}
