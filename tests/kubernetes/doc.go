// Package kubernetes tests Epilogue's Helm integration with Helm itself
// (helm.sh/helm/v4 as a library, so `make test` needs no helm binary and
// no cluster): Helm lints and renders a stand-in for deploy-kube's
// openwhisk chart (testdata/openwhisk) with deploy/helm/openwhisk-values.yaml
// and several values sets, post-rendered three ways (kube.PostRender
// in-process, the Helm 4 plugin deploy/helm/plugin, the Helm 3 executable
// deploy/helm/post-render), and every rendered object is decoded strictly
// and checked against the patch's invariants (kube/kubetest).
//
// deploy-kube itself cannot be fetched by a test, so the stand-in is held
// to it: rendered with default values, its invoker must equal, object for
// object, the invoker in kube/testdata's real renders of deploy-kube.
//
// It owns these tests only; the patch is kube's, the command line
// cmd/epilogue's. Only its test files import Helm: no binary links it.
package kubernetes
