package report

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/epilogue-dev/epilogue/chaos"
)

// ErrNoReports is returned by Write when it is given nothing to report.
var ErrNoReports = errors.New("report: no reports given: pass the output of `epilogue chaos --json`, one per backend")

// Names of the files Write owns in its directory.
const (
	readmeFile     = "README.md"
	latencyFile    = "latency.svg"
	lostFile       = "lost.svg"
	reclaimLagFile = "reclaim-lag.svg"
	costFile       = "container-seconds.svg"
)

// file is one output file.
type file struct {
	name string
	data []byte
}

// Write writes dir/README.md and the charts (dir/*.svg), replacing what is
// there, from the reports of one seeded run: one report per backend.
//
// dir is created if missing. README.md and every *.svg in dir are Write's:
// an SVG it did not write this time is removed, so that a chart dropped by
// a newer version does not linger; other files are left alone. Each file is
// written to a temporary name and renamed, so that a failed Write leaves the
// previous version of each file whole.
func Write(dir string, reports ...chaos.Report) error {
	if len(reports) == 0 {
		return ErrNoReports
	}
	rs := slices.Clone(reports)
	// Sorted so that the order the caller passes the backends in does not
	// change the output.
	slices.SortStableFunc(rs, func(a, b chaos.Report) int {
		return cmp.Or(cmp.Compare(a.Backend, b.Backend), cmp.Compare(a.Seed, b.Seed))
	})
	for i := 1; i < len(rs); i++ {
		if rs[i].Backend == rs[i-1].Backend {
			return fmt.Errorf("report: two reports for backend %q: pass one report per backend, from one run", rs[i].Backend)
		}
	}
	files := render(rs)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, f := range files {
		if err := writeAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return removeStaleCharts(dir, files)
}

// render builds every file from the sorted reports.
func render(rs []chaos.Report) []file {
	latencyMD, latencySVG := latencySection(rs)
	lostMD, lostSVG := lossSection(rs)
	lagMD, lagSVG := reclaimLagSection(rs)
	costMD, costSVG := costSection(rs)

	var b strings.Builder
	b.WriteString(header(rs))
	b.WriteString(summary(rs))
	b.WriteString(latencyMD)
	b.WriteString(lostMD)
	b.WriteString(lagMD)
	b.WriteString(costMD)
	b.WriteString(errorsSection(rs))
	return []file{
		{readmeFile, []byte(b.String())},
		{latencyFile, latencySVG},
		{lostFile, lostSVG},
		{reclaimLagFile, lagSVG},
		{costFile, costSVG},
	}
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	// CreateTemp makes the file 0600; the report is for everyone to read.
	err = tmp.Chmod(0o644)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		// Best effort: the temporary file is only debris once the write failed.
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	return nil
}

func removeStaleCharts(dir string, keep []file) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".svg") || slices.ContainsFunc(keep, func(f file) bool { return f.name == name }) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("report: removing a chart this run did not write: %w", err)
		}
	}
	return nil
}
