# Sourced by .ci/run and scripts/with-daemons: what building and testing the example needs on
# a Debian machine, and the services it builds against — a private dockerd, a second one that
# plays the daemon inside Helix's sandbox, and a registry on loopback. Everything lives in one
# state directory and `stop_services` stops all of it.

packages=(docker.io busybox-static docker-registry docker-compose curl chromium iproute2)
nested_bridge=stack-nested0

install_packages() {
    local missing=() package
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    ((${#missing[@]})) || return 0
    if ((EUID != 0)); then
        echo "missing Debian packages: ${missing[*]}; install them (as root: apt-get install ${missing[*]})" >&2
        return 69
    fi
    echo "--- installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# start_services STATE_DIR: exports DOCKER_HOST-style addresses for the three services as
# STACK_TEST_DOCKER_HOST, STACK_TEST_NESTED_DOCKER_HOST and STACK_TEST_REGISTRY.
start_services() {
    local state=$1 port attempt
    mkdir -p "$state"
    # The sandbox's daemon only pulls images from the registry and runs no containers, but it
    # needs a bridge of its own: with --bridge=none dockerd deletes any docker0 it finds, which
    # would cut off the main daemon's (or a developer's own) containers.
    echo "--- starting the nested dockerd (the sandbox's daemon)"
    ip link show "$nested_bridge" >/dev/null 2>&1 || ip link add "$nested_bridge" type bridge
    ip link set "$nested_bridge" up
    STACK_TEST_NESTED_DOCKER_HOST=$(.ci/dockerd.sh start "$state/nested" --bridge="$nested_bridge" --iptables=false --ip-masq=false)
    echo "--- starting the main dockerd"
    STACK_TEST_DOCKER_HOST=$(.ci/dockerd.sh start "$state/dockerd")
    export STACK_TEST_NESTED_DOCKER_HOST STACK_TEST_DOCKER_HOST
    export STACK_TEST_DOCKER=/usr/bin/docker
    /usr/bin/docker --host "$STACK_TEST_DOCKER_HOST" version --format 'dockerd {{.Server.Version}}, CLI {{.Client.Version}}'

    # Both daemons reach it on loopback, which dockerd treats as an insecure (plain HTTP)
    # registry without any --insecure-registry flag.
    echo "--- starting the registry"
    port=5000
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
        ((port < 5100)) || { echo "no free port in 5000-5099 for the registry" >&2; return 1; }
    done
    mkdir -p "$state/registry/data"
    cat >"$state/registry/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry/data
http:
  addr: 127.0.0.1:$port
CONFIG
    docker-registry serve "$state/registry/config.yml" >"$state/registry/registry.log" 2>&1 &
    echo $! >"$state/registry/pid"
    for attempt in $(seq 1 60); do
        curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break
        if ((attempt == 60)) || ! kill -0 "$(cat "$state/registry/pid")" 2>/dev/null; then
            echo "the registry did not answer on 127.0.0.1:$port within 30 s; its log:" >&2
            tail -n 40 "$state/registry/registry.log" >&2
            return 1
        fi
        sleep 0.5
    done
    export STACK_TEST_REGISTRY=127.0.0.1:$port
    echo "registry on $STACK_TEST_REGISTRY"
    import_base_image "$STACK_TEST_DOCKER_HOST"
}

# Nothing can be pulled here: the example's only base image, busybox:1.36, is made from
# Debian's busybox-static and imported into the main daemon under that name.
import_base_image() {
    local host=$1 rootfs applet
    /usr/bin/docker --host "$host" image inspect busybox:1.36 >/dev/null 2>&1 && return 0
    echo "--- importing busybox:1.36 from /bin/busybox"
    rootfs=$(mktemp -d)
    mkdir -p "$rootfs/bin" "$rootfs/tmp"
    cp /bin/busybox "$rootfs/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
    done
    tar -C "$rootfs" -c . | /usr/bin/docker --host "$host" import - busybox:1.36 >/dev/null
    rm -rf "$rootfs"
}

stop_services() {
    local state=$1
    if [ -f "$state/registry/pid" ]; then
        kill "$(cat "$state/registry/pid")" 2>/dev/null || true
    fi
    .ci/dockerd.sh stop "$state/nested" || true
    .ci/dockerd.sh stop "$state/dockerd" || true
    ip link delete "$nested_bridge" 2>/dev/null || true
    rm -rf "$state" 2>/dev/null || true
}
