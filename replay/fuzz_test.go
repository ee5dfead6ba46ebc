package replay

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzRead feeds untrusted bytes to each of the dataset's three parsers:
// none may panic, every failure is located in its file, and an accepted
// invocations file yields a day of counts within the limits.
func FuzzRead(f *testing.F) {
	head := "HashOwner,HashApp,HashFunction,Trigger"
	for m := 1; m <= MinutesPerDay; m++ {
		head += "," + strconv.Itoa(m)
	}
	f.Add([]byte(head + "\no,a,f,http" + strings.Repeat(",1", MinutesPerDay) + "\n"))
	f.Add([]byte("HashOwner,HashApp,HashFunction,Average,EpilogueLingerMs\no,a,f,12.5,300\n"))
	f.Add([]byte("HashOwner,HashApp,SampleCount,AverageAllocatedMb\no,a,1,128\n"))
	f.Add([]byte("HashOwner,\"Hash\nApp\",x\n\"o\"\"\",a,b\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newBuilder(1)
		parsers := []func() error{
			func() error { return b.invocations(bytes.NewReader(data), "inv.csv", 0) },
			func() error { return b.durations(bytes.NewReader(data), "dur.csv") },
			func() error { return b.memory(bytes.NewReader(data), "mem.csv") },
		}
		for _, parse := range parsers {
			err := parse()
			if err == nil {
				continue
			}
			var ie *InputError
			if !errors.As(err, &ie) || ie.Line < 1 || !strings.HasSuffix(ie.File, ".csv") {
				t.Fatalf("an error not located in its file: %v", err)
			}
		}
		for _, fn := range b.trace().Functions {
			if len(fn.Counts) != MinutesPerDay {
				t.Fatalf("%d counts for a day", len(fn.Counts))
			}
			for _, c := range fn.Counts {
				if c < 0 || c > MaxCount {
					t.Fatalf("count %d out of bounds", c)
				}
			}
			if fn.MemoryMB < 1 || fn.Duration < 0 || fn.Linger < 0 {
				t.Fatalf("bad function %+v", fn)
			}
		}
	})
}
