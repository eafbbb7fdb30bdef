# Starts a throwaway PostgreSQL cluster on loopback for the tests. Source it, then:
#   pg_start DIR   -> exports EGOV_TEST_POSTGRES_URL; pg_stop DIR stops it.
# Uses Debian's postgresql (installed if missing). initdb refuses root, so as root the
# cluster belongs to the postgres user.

pg_bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        apt_install postgresql >&2
        dir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    fi
    echo "$dir"
}

pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
    local dir="$1" bin port
    bin="$(pg_bindir)"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    pg_as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=on -c max_connections=500" start >/dev/null \
        || { cat "$dir/server.log" >&2; die "PostgreSQL did not start"; }
    export EGOV_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres?tlsmode=disable"
    export PG_TEST_DIR="$dir"
    log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

pg_stop() {
    local dir="$1" bin
    bin="$(pg_bindir)"
    pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
