// Package process is the backend that runs each action "container" as a
// local epilogue-proxy process, without Docker: the quickest way to run
// standalone OpenWhisk on one machine, for epilogue/action-go images only.
//
// A container is the session (and process group) of one epilogue-proxy
// process, started with Setsid and Pdeathsig SIGKILL, so it dies with the
// backend's process. The proxy starts each action in a process group of its
// own (so that it can stop that group), so a container spans several groups;
// the session is what holds them all together. A process that starts a new
// session (a daemonising action) escapes the container.
//
//   - Network: the backend binds 127.0.0.1:0 itself and hands the listening
//     socket to the proxy as fd 3 (EPILOGUE_LISTEN_FD=3), so there is no port
//     race; connections made before the proxy serves wait in the backlog.
//   - Files: a fresh directory per container under Config.WorkDir,
//     root/ (the proxy's working directory; /init unpacks into root/action)
//     and stdout.log, stderr.log; removed by Remove.
//   - Environment: what the epilogue/action-go image sets (OW_WAIT_FOR_ACK=1),
//     __OW_API_HOST from Config.APIHost, then Spec.Env; EPILOGUE_INSTANCE
//     defaults to the container's name (the hostname would be the same for
//     every container). Nothing is inherited from the backend's process, not
//     even PATH (the image's PATH names empty directories).
//   - Pause sends SIGSTOP to every process group of the session and returns
//     once every thread of every process is stopped; Unpause sends SIGCONT
//     likewise. Remove sends SIGKILL until no process of the session is left
//     (at most 5 s), then removes the directory.
//   - Logs follow stdout.log and stderr.log (polling, as tail -f), so a
//     proxy never blocks on its output, whether or not anyone reads it; like
//     Docker's json-file driver without max-size, the files are not capped.
//
// Not enforced, unlike in a container: Spec.MemoryMB (no cgroup), the
// file system (the action sees the host's), the network (the host's), pid
// and file limits. Spec.Labels are kept but have no effect. This backend is
// for development and tests of trusted actions, not for isolation.
package process
