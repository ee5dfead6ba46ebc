package invokershim

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// CreatePolicy says which container settings a containers/create may ask
// for. Where the shim is the invoker's only way to the daemon (a Kubernetes
// node, the socket mounted into the shim alone), whoever reaches the
// shim's socket must not get more than an invoker asks for: OpenWhisk's
// `docker run` never makes a container privileged, never shares a host
// namespace, only drops capabilities, maps no device and mounts nothing.
// The zero value allows exactly that; each field widens it.
type CreatePolicy struct {
	// Unrestricted forwards every create as it is (the shim as a pure
	// interposer, in front of a daemon its callers may use freely anyway).
	Unrestricted bool
	// Privileged allows HostConfig.Privileged.
	Privileged bool
	// HostNamespaces allows the host's (or another container's) network,
	// PID, IPC, UTS, user and cgroup namespaces.
	HostNamespaces bool
	// CapAdd lists the capabilities that may be added (without "CAP_";
	// "ALL" allows any).
	CapAdd []string
	// Devices lists host device paths that may be mapped in.
	Devices []string
	// BindPrefixes lists host directories that bind mounts may come from
	// (the directory itself or anything under it).
	BindPrefixes []string
	// Volumes allows named volumes (Binds without a leading "/", Mounts of
	// type volume) and VolumesFrom.
	Volumes bool
	// SecurityOpts lists the --security-opt values that may be given
	// (e.g. "no-new-privileges"); anything else could lift a confinement.
	SecurityOpts []string
}

// createRuleHelp lists the --allow-create rules, as the flag spells them.
const createRuleHelp = "privileged, host-namespaces, cap-add=NAME, device=PATH, bind=DIR, volumes, security-opt=VALUE, or any"

// ParseCreateRule adds one --allow-create rule to p.
func (p *CreatePolicy) ParseCreateRule(rule string) error {
	key, value, hasValue := strings.Cut(rule, "=")
	need := func() error {
		if !hasValue || value == "" {
			return fmt.Errorf("%q needs a value: write %s=VALUE", rule, key)
		}
		return nil
	}
	switch key {
	case "any":
		p.Unrestricted = true
	case "privileged":
		p.Privileged = true
	case "host-namespaces":
		p.HostNamespaces = true
	case "volumes":
		p.Volumes = true
	case "cap-add":
		if err := need(); err != nil {
			return err
		}
		p.CapAdd = append(p.CapAdd, normalCap(value))
	case "device":
		if err := need(); err != nil {
			return err
		}
		if !path.IsAbs(value) {
			return fmt.Errorf("%q: a device is a host path such as /dev/fuse", rule)
		}
		p.Devices = append(p.Devices, path.Clean(value))
	case "bind":
		if err := need(); err != nil {
			return err
		}
		if !path.IsAbs(value) {
			return fmt.Errorf("%q: a bind source is an absolute host directory such as /var/lib/openwhisk", rule)
		}
		p.BindPrefixes = append(p.BindPrefixes, path.Clean(value))
	case "security-opt":
		if err := need(); err != nil {
			return err
		}
		p.SecurityOpts = append(p.SecurityOpts, value)
	default:
		return fmt.Errorf("unknown rule %q: use %s", rule, createRuleHelp)
	}
	return nil
}

// createRequest is the part of a containers/create body the policy reads.
type createRequest struct {
	HostConfig *container.HostConfig
}

// checkCreate returns why body asks for more than p allows, naming the
// field and the rule that would allow it; "" when it may be forwarded. A
// body that is not a container configuration is left to the daemon,
// which refuses it.
func (p CreatePolicy) checkCreate(body []byte) string {
	if p.Unrestricted {
		return ""
	}
	var req createRequest
	if err := json.Unmarshal(body, &req); err != nil || req.HostConfig == nil {
		return ""
	}
	hc := req.HostConfig
	refuse := func(field, value, rule string) string {
		return fmt.Sprintf("epilogue-shim: containers/create refused: HostConfig.%s is %s, which an OpenWhisk invoker never asks for; to allow it, start the shim with --allow-create %s", field, value, rule)
	}
	if hc.Privileged && !p.Privileged {
		return refuse("Privileged", "true", "privileged")
	}
	if !p.HostNamespaces {
		for _, ns := range []struct{ field, mode string }{
			{"NetworkMode", string(hc.NetworkMode)}, {"PidMode", string(hc.PidMode)},
			{"IpcMode", string(hc.IpcMode)}, {"UTSMode", string(hc.UTSMode)},
			{"UsernsMode", string(hc.UsernsMode)}, {"CgroupnsMode", string(hc.CgroupnsMode)},
		} {
			if ns.mode == "host" || strings.HasPrefix(ns.mode, "container:") {
				return refuse(ns.field, fmt.Sprintf("%q", ns.mode), "host-namespaces")
			}
		}
	}
	for _, c := range hc.CapAdd {
		if !p.capAllowed(c) {
			return refuse("CapAdd", fmt.Sprintf("%q", c), "cap-add="+normalCap(c))
		}
	}
	for _, d := range hc.Devices {
		if !slices.Contains(p.Devices, path.Clean(d.PathOnHost)) {
			return refuse("Devices", fmt.Sprintf("%q", d.PathOnHost), "device="+d.PathOnHost)
		}
	}
	if len(hc.DeviceRequests) > 0 {
		return refuse("DeviceRequests", fmt.Sprintf("%d request(s)", len(hc.DeviceRequests)), "any")
	}
	if len(hc.DeviceCgroupRules) > 0 {
		return refuse("DeviceCgroupRules", fmt.Sprintf("%q", hc.DeviceCgroupRules), "any")
	}
	for _, b := range hc.Binds {
		src, _, _ := strings.Cut(b, ":")
		if why := p.checkSource("Binds", src, !strings.HasPrefix(src, "/"), refuse); why != "" {
			return why
		}
	}
	for _, m := range hc.Mounts {
		switch m.Type {
		case mount.TypeTmpfs:
		case mount.TypeBind:
			if why := p.checkSource("Mounts", m.Source, false, refuse); why != "" {
				return why
			}
		case mount.TypeVolume:
			if why := p.checkSource("Mounts", m.Source, true, refuse); why != "" {
				return why
			}
		default:
			return refuse("Mounts", fmt.Sprintf("a mount of type %q", m.Type), "any")
		}
	}
	if len(hc.VolumesFrom) > 0 && !p.Volumes {
		return refuse("VolumesFrom", fmt.Sprintf("%q", hc.VolumesFrom), "volumes")
	}
	for _, o := range hc.SecurityOpt {
		if !slices.Contains(p.SecurityOpts, o) {
			return refuse("SecurityOpt", fmt.Sprintf("%q", o), "security-opt="+o)
		}
	}
	return ""
}

// checkSource checks a mount's source: a named volume, or a host path that
// must lie under one of the allowed bind directories.
func (p CreatePolicy) checkSource(field, src string, volume bool, refuse func(field, value, rule string) string) string {
	if volume {
		if p.Volumes {
			return ""
		}
		return refuse(field, fmt.Sprintf("the named volume %q", src), "volumes")
	}
	clean := path.Clean(src)
	for _, prefix := range p.BindPrefixes {
		if clean == prefix || strings.HasPrefix(clean, strings.TrimSuffix(prefix, "/")+"/") {
			return ""
		}
	}
	return refuse(field, fmt.Sprintf("a bind mount of the host's %q", src), "bind="+clean)
}

func (p CreatePolicy) capAllowed(c string) bool {
	return slices.Contains(p.CapAdd, "ALL") || slices.Contains(p.CapAdd, normalCap(c))
}

// normalCap spells a capability as Docker accepts it both ways: upper
// case, without the CAP_ prefix.
func normalCap(c string) string {
	return strings.TrimPrefix(strings.ToUpper(c), "CAP_")
}
