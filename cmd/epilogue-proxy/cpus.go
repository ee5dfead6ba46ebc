package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupRoot is where a container sees its own cgroup: Docker and
// Kubernetes mount it there, under cgroup v1 and v2 alike.
const cgroupRoot = "/sys/fs/cgroup"

// cpuBudget is how many CPUs the proxy's container may keep busy: the
// CPUs it may run on (online), capped by a CFS quota on the cgroup
// mounted at root (v2 cpu.max, v1 cpu/cpu.cfs_quota_us). runtime.GOMAXPROCS
// cannot answer this: Go rounds a quota below two CPUs up to two. An
// unreadable or absent quota means none. A quota on a parent cgroup is
// not seen, which inside a container is the container's own.
func cpuBudget(root string, online int) float64 {
	if quota, period, ok := cfsQuota(root); ok {
		return min(float64(online), quota/period)
	}
	return float64(online)
}

// cfsQuota is the cgroup's quota and period, both positive, if it has one.
func cfsQuota(root string) (quota, period float64, ok bool) {
	if b, err := os.ReadFile(filepath.Join(root, "cpu.max")); err == nil {
		// "max 100000" (no quota) or "50000 100000".
		q, p, found := strings.Cut(strings.TrimSpace(string(b)), " ")
		if !found || q == "max" {
			return 0, 0, false
		}
		return parseQuota(q, p)
	}
	q, errQ := os.ReadFile(filepath.Join(root, "cpu", "cpu.cfs_quota_us"))
	p, errP := os.ReadFile(filepath.Join(root, "cpu", "cpu.cfs_period_us"))
	if errQ != nil || errP != nil {
		return 0, 0, false
	}
	// v1 writes -1 for no quota, which parseQuota refuses.
	return parseQuota(strings.TrimSpace(string(q)), strings.TrimSpace(string(p)))
}

func parseQuota(q, p string) (quota, period float64, ok bool) {
	qi, errQ := strconv.ParseInt(q, 10, 64)
	pi, errP := strconv.ParseInt(p, 10, 64)
	if errQ != nil || errP != nil || qi <= 0 || pi <= 0 {
		return 0, 0, false
	}
	return float64(qi), float64(pi), true
}
