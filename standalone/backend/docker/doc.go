// Package docker is the backend that runs each action container through the
// Docker Engine API, with the parameters of OpenWhisk's
// DockerContainerFactory (docker run -d --cpu-shares N --memory Mm
// --memory-swap Mm --network NET -e __OW_API_HOST=… --name wsk0_… --cap-drop
// NET_RAW --cap-drop NET_ADMIN --ulimit nofile=1024:1024 --pids-limit 1024
// --log-driver json-file IMAGE), so that an action sees what it would see
// under a real invoker.
//
//   - Create: ContainerCreate, then ContainerStart, then ContainerInspect
//     for the address: the container's IP on Config.Network, port 8080 (as
//     the invoker; Docker Desktop, where bridge IPs are not reachable from
//     the host, is not supported). It never pulls: a missing image is an
//     error that says to run `make image`.
//   - Pause and Unpause: ContainerPause and ContainerUnpause ("already
//     paused" and "not paused" count as success).
//   - Remove: ContainerRemove with Force and RemoveVolumes; "no such
//     container" counts as success.
//   - Logs: ContainerLogs with Follow, demultiplexed (stdcopy) into two
//     pipes; the stream ends when the container is removed.
//   - Close: removes every container carrying this backend's LabelOwner
//     label, whose value is unique to the Backend, so that two backends on
//     one engine never remove each other's containers.
//
// It does not remove containers left by an earlier process that died (the
// invoker removes every wsk<N>_* container at start-up); LabelOwner and
// LabelBackend let a caller find them.
package docker
