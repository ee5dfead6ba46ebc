package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
	// ResultsFile holds the reports Write was given, so that Render can
	// redraw the tables and charts without running the suite again.
	ResultsFile = "results.json"
)

// file is one output file.
type file struct {
	name string
	data []byte
}

// Write writes dir/README.md, the charts (dir/*.svg) and dir/results.json,
// replacing what is there, from the reports of one seeded run: one report
// per backend. results.json keeps the reports themselves, so that Render can
// draw the tables and charts again without running the suite.
//
// dir is created if missing. README.md, results.json and every *.svg in dir
// are Write's: an SVG it did not write this time is removed, so that a chart
// dropped by a newer version does not linger; other files are left alone.
// Each file is written to a temporary name and renamed, so that a failed
// Write leaves the previous version of each file whole.
func Write(dir string, reports ...chaos.Report) error {
	if len(reports) == 0 {
		return ErrNoReports
	}
	rs, err := sorted(reports)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(results{Reports: rs}, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encoding %s: %w", ResultsFile, err)
	}
	return writeFiles(dir, append(render(rs), file{ResultsFile, append(data, '\n')}))
}

// Render draws dir/README.md and the charts again from dir/results.json,
// as Write wrote them, without running anything: a change to the tables or
// charts is seen on the committed run in a second. results.json itself is
// left as it is.
func Render(dir string) error {
	path := filepath.Join(dir, ResultsFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("report: %s is missing: write a report there first (epilogue chaos --report %s)", path, dir)
	}
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var res results
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("report: %s is not a report's results (%w): write the report again (epilogue chaos --report %s)", path, err, dir)
	}
	if len(res.Reports) == 0 {
		return fmt.Errorf("report: %s holds no reports: write the report again (epilogue chaos --report %s)", path, dir)
	}
	// Write sorted them; sorting again keeps a hand-edited file from
	// rendering in another order than Write would.
	rs, err := sorted(res.Reports)
	if err != nil {
		return fmt.Errorf("%w (in %s)", err, path)
	}
	return writeFiles(dir, render(rs))
}

// sorted returns the reports by backend, so that the order the caller
// passes the backends in does not change the output, and rejects two of one
// backend.
func sorted(reports []chaos.Report) ([]chaos.Report, error) {
	rs := slices.Clone(reports)
	slices.SortStableFunc(rs, func(a, b chaos.Report) int {
		return cmp.Or(cmp.Compare(a.Backend, b.Backend), cmp.Compare(a.Seed, b.Seed))
	})
	for i := 1; i < len(rs); i++ {
		if rs[i].Backend == rs[i-1].Backend {
			return nil, fmt.Errorf("report: two reports for backend %q: pass one report per backend, from one run", rs[i].Backend)
		}
	}
	return rs, nil
}

// writeFiles writes files into dir and removes the charts that are not
// among them.
func writeFiles(dir string, files []file) error {
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
	b.WriteString(durableSection(rs))
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

// results is the layout of results.json: the reports of one run, one per
// backend, sorted by backend.
type results struct {
	Reports []chaos.Report `json:"reports"`
}
