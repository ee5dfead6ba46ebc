// Package kubetest holds the checks of a post-rendered deploy-kube release
// that kube's golden tests and tests/kubernetes's Helm tests share, so each
// invariant is stated once: every object decodes strictly into its
// k8s.io/api type, objects other than the invoker come out byte for byte,
// and each container factory's patch keeps its promises (docs/kubernetes.md).
//
// The values it checks against (socket paths, names, ports) are written
// out as the documentation gives them rather than taken from kube's
// constants, so a change to one of them is a visible change to a test.
// Only tests import it.
package kubetest
