#!/usr/bin/env bash
# Starts and stops a private dockerd for the test suite: its own data root, exec root,
# pidfile, unix socket and containerd namespace under one state directory, so it never touches
# a system daemon, and two of them (different state directories) run side by side.
#   .ci/dockerd.sh start STATE_DIR [extra dockerd flags...]   prints the DOCKER_HOST to use
#   .ci/dockerd.sh stop STATE_DIR
set -euo pipefail

command=${1:?usage: dockerd.sh start|stop STATE_DIR [dockerd flags...]}
state=${2:?usage: dockerd.sh start|stop STATE_DIR [dockerd flags...]}
shift 2

case "$command" in
start)
    mkdir -p "$state"
    state=$(cd "$state" && pwd)
    socket="$state/docker.sock"
    # containerd is started by dockerd itself (--containerd not given), its socket under the
    # exec root, so several daemons each get their own. A system containerd, though, is used
    # instead when its socket exists; a namespace per state dir keeps their containers apart
    # from each other and from the system dockerd's ("moby").
    namespace=stack-$(printf '%s' "$state" | cksum | cut -d' ' -f1)
    dockerd \
        --data-root "$state/data" \
        --exec-root "$state/exec" \
        --pidfile "$state/dockerd.pid" \
        --host "unix://$socket" \
        --containerd-namespace "$namespace" \
        --containerd-plugins-namespace "$namespace-plugins" \
        --storage-driver vfs \
        "$@" >"$state/dockerd.log" 2>&1 &
    for _ in $(seq 1 120); do
        if DOCKER_HOST="unix://$socket" /usr/bin/docker version >/dev/null 2>&1; then
            echo "unix://$socket"
            exit 0
        fi
        sleep 0.5
    done
    echo "dockerd did not answer on $socket within 60 s; its log:" >&2
    tail -n 40 "$state/dockerd.log" >&2
    exit 1
    ;;
stop)
    pidfile="$state/dockerd.pid"
    [ -f "$pidfile" ] || exit 0
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
    ;;
*)
    echo "usage: dockerd.sh start|stop STATE_DIR [dockerd flags...]" >&2
    exit 64
    ;;
esac
