package docker

import (
	"context"
	"fmt"
	"net"
	"strings"

	networktypes "github.com/docker/docker/api/types/network"
)

// networkInspector is the one engine call Gateway makes; *client.Client
// has it.
type networkInspector interface {
	NetworkInspect(ctx context.Context, network string, options networktypes.InspectOptions) (networktypes.Inspect, error)
}

// Gateway returns the IPv4 gateway of the engine's network: the address at
// which containers on it reach this machine (where a service they must
// reach, e.g. a test's Redis, has to listen).
func Gateway(ctx context.Context, cli networkInspector, network string) (string, error) {
	info, err := cli.NetworkInspect(ctx, network, networktypes.InspectOptions{})
	if err != nil {
		return "", fmt.Errorf("backend/docker: inspect network %s: %w", network, err)
	}
	for _, c := range info.IPAM.Config {
		if c.Gateway != "" && !strings.Contains(c.Gateway, ":") {
			return c.Gateway, nil
		}
	}
	// The default bridge may not list its gateway: it is the address of the
	// bridge interface on this machine.
	if name := info.Options["com.docker.network.bridge.name"]; name != "" {
		if ifc, err := net.InterfaceByName(name); err == nil {
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
					return ipn.IP.String(), nil
				}
			}
		}
	}
	return "", fmt.Errorf("backend/docker: network %s has no IPv4 gateway (IPAM %+v, options %v); use a bridge network", network, info.IPAM.Config, info.Options)
}

// Gateway returns the IPv4 gateway of the backend's network (see the
// package function Gateway).
func (b *Backend) Gateway(ctx context.Context) (string, error) {
	return Gateway(ctx, b.eng, b.network)
}
