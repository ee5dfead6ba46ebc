package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"

	"golang.org/x/sys/unix"
)

// Upstream's proxy beside ours (-upstream PATH): apache/openwhisk-runtime-go's
// ActionLoop proxy, built by the user from their own checkout (README,
// "Performance"); this repository holds neither its code nor a way to fetch
// it. It always listens on :8080 and nothing else, so the benchmark runs in
// a private network namespace of its own, where that port is free and only
// loopback exists: the benchmark, our proxies and upstream's all talk over
// the same loopback there, one upstream proxy at a time.

// upstreamPort is where upstream's proxy listens, whatever it is told.
const upstreamPort = 8080

// netnsMarker marks the benchmark's re-executed self inside its namespace.
const netnsMarker = "EPILOGUE_BENCH_NETNS"

// inPrivateNetns reports whether this process is the re-executed one.
func inPrivateNetns() bool { return os.Getenv(netnsMarker) == "1" }

// reexecInNetns runs this program again, with the same arguments, in a new
// network namespace (unshare(1) from util-linux; as a user who is not root,
// also in a user namespace that maps them to root there), and returns its
// exit code.
func reexecInNetns() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	args := []string{"--net"}
	if os.Geteuid() != 0 {
		args = append(args, "--map-root-user")
	}
	args = append(append(args, "--", self), os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), netnsMarker+"=1")
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "bench: -upstream runs the benchmark in a private network namespace (upstream's proxy can only listen on :%d): unshare --net failed: %v; run it as root, or where unprivileged user namespaces are allowed\n", upstreamPort, err)
		return 1
	}
	return 0
}

// loopbackUp brings up lo, the one interface of a new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	return nil
}

// upstreamTarget is the throughput ratio the comparison asks of ours.
const upstreamTarget = 1.2

// upstreamCriterion is what the comparison judges.
const upstreamCriterion = "ours ≥ 1.2 × upstream's requests/s (the sum over the interleaved blocks), with p99 no worse (ours ≤ upstream's)"

// upstreamPair compares one of our modes with upstream's in the same
// connection mode, from the same interleaved run.
type upstreamPair struct {
	Label  string `json:"label"`
	Ours   string `json:"ours"`
	Theirs string `json:"upstream"`
	// ThroughputRatio is ours / upstream's requests per second.
	ThroughputRatio float64 `json:"throughputRatio"`
	// RoundRatios pair the blocks of each round (the same minute of the
	// machine's load); min, median and max show how much rounds differ.
	RoundRatios []float64 `json:"roundRatios"`
	RoundMin    float64   `json:"roundMin"`
	RoundMedian float64   `json:"roundMedian"`
	RoundMax    float64   `json:"roundMax"`
	// P50Ratio and P99Ratio are ours / upstream's latency (below 1: ours faster).
	P50Ratio float64 `json:"p50Ratio"`
	P99Ratio float64 `json:"p99Ratio"`
	Pass     bool    `json:"pass"`
}

// upstreamVerdict is the comparison with upstream's proxy.
type upstreamVerdict struct {
	Criterion string         `json:"criterion"`
	Binary    string         `json:"binary"`
	Version   string         `json:"version,omitempty"`
	Pairs     []upstreamPair `json:"pairs"`
	Pass      bool           `json:"pass"`
	// InitMemory is upstream's /init of the same archive, beside ours.
	InitMemory *initMemory `json:"initMemory,omitempty"`
}

// compareUpstream pairs our modes with upstream's.
func compareUpstream(modes map[string]*modeResult) []upstreamPair {
	var pairs []upstreamPair
	for _, c := range []struct{ label, ours, theirs string }{
		{"fixture, tracking off (the same upstream-mode action)", "tracking_off", "upstream"},
		{"fixture, tracking on (extended: every activation tracked)", "tracking_on", "upstream"},
		{"SDK action, tracking on", "sdk_tracking_on", "sdk_upstream"},
	} {
		for _, conn := range allConns {
			o, t := modes[c.ours+"_"+connKey(conn)], modes[c.theirs+"_"+connKey(conn)]
			if o == nil || t == nil {
				continue
			}
			p := upstreamPair{Label: c.label + ", " + conn, Ours: c.ours + "_" + connKey(conn), Theirs: c.theirs + "_" + connKey(conn),
				ThroughputRatio: ratioOf(o.ReqPerS, t.ReqPerS), P50Ratio: ratioOf(o.P50Us, t.P50Us), P99Ratio: ratioOf(o.P99Us, t.P99Us)}
			for i := range min(len(o.BlockRates), len(t.BlockRates)) {
				p.RoundRatios = append(p.RoundRatios, ratioOf(o.BlockRates[i], t.BlockRates[i]))
			}
			if len(p.RoundRatios) > 0 {
				sorted := slices.Sorted(slices.Values(p.RoundRatios))
				p.RoundMin, p.RoundMedian, p.RoundMax = sorted[0], sorted[(len(sorted)-1)/2], sorted[len(sorted)-1]
			}
			p.Pass = p.ThroughputRatio >= upstreamTarget && p.P99Ratio <= 1
			pairs = append(pairs, p)
		}
	}
	return pairs
}

func ratioOf(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func printUpstream(w io.Writer, v *upstreamVerdict) {
	fmt.Fprintf(w, "\nAgainst upstream's proxy (%s, %s), same run, interleaved; %s:\n", v.Binary, v.Version, v.Criterion)
	fmt.Fprintf(w, "%-70s %11s %21s %9s %9s %8s\n", "ours vs upstream", "throughput", "rounds min–med–max", "p50", "p99", "verdict")
	for _, p := range v.Pairs {
		fmt.Fprintf(w, "%-70s %10.2f× %6.2f–%.2f–%.2f× %8.2f× %8.2f× %8s\n", p.Label, p.ThroughputRatio,
			p.RoundMin, p.RoundMedian, p.RoundMax, p.P50Ratio, p.P99Ratio, passFail(p.Pass))
	}
	if v.InitMemory != nil {
		fmt.Fprintf(w, "upstream's /init of the same archive: peak RSS %s MiB (ours: see init memory)\n", mibText(v.InitMemory.ProxyPeakBytes))
	}
}
