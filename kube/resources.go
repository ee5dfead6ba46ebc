package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Resources are a container's CPU request and memory request and limit, as
// Kubernetes quantities ("50m", "64Mi"). An empty field takes the default
// of the container it is for (DefaultShimResources,
// DefaultRecovererResources).
type Resources struct {
	CPURequest, MemoryRequest, MemoryLimit string
}

// The containers' defaults: the shim proxies every Docker call of an
// invoker and keeps a journal; the recoverer reads a Redis stream.
var (
	DefaultShimResources      = Resources{CPURequest: "50m", MemoryRequest: "32Mi", MemoryLimit: "256Mi"}
	DefaultRecovererResources = Resources{CPURequest: "10m", MemoryRequest: "16Mi", MemoryLimit: "128Mi"}
)

// orDefault fills r's empty fields from def.
func (r Resources) orDefault(def Resources) Resources {
	if r.CPURequest == "" {
		r.CPURequest = def.CPURequest
	}
	if r.MemoryRequest == "" {
		r.MemoryRequest = def.MemoryRequest
	}
	if r.MemoryLimit == "" {
		r.MemoryLimit = def.MemoryLimit
	}
	return r
}

// check reports each field that is no quantity, and a memory request above
// the limit (which the API server refuses); who names the container, as
// the flags do ("shim", "recoverer").
func (r Resources) check(who string) []error {
	var errs []error
	parsed := map[string]resource.Quantity{}
	for _, q := range []struct{ name, v string }{{"cpu request", r.CPURequest}, {"memory request", r.MemoryRequest}, {"memory limit", r.MemoryLimit}} {
		v, err := resource.ParseQuantity(q.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s %q is not a Kubernetes quantity (e.g. 50m, 64Mi)", who, q.name, q.v))
			continue
		}
		parsed[q.name] = v
	}
	req, okReq := parsed["memory request"]
	lim, okLim := parsed["memory limit"]
	if okReq && okLim && req.Cmp(lim) > 0 {
		errs = append(errs, fmt.Errorf("%s memory request %s is above its limit %s: Kubernetes refuses the pod", who, r.MemoryRequest, r.MemoryLimit))
	}
	return errs
}

// requirements is r as a container's resources (call check first).
func (r Resources) requirements() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(r.CPURequest), corev1.ResourceMemory: resource.MustParse(r.MemoryRequest)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(r.MemoryLimit)},
	}
}
