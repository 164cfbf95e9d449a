#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benches, shared by .ci/run and test/kit/postgres.ts.
#   pg-cluster.sh start DIR [fast]   initdb into DIR/data, start on a free 127.0.0.1 port (trust auth
#                                    for user hangar on loopback, passwords for other roles), print the server URL (postgres://hangar@127.0.0.1:PORT/postgres)
#   pg-cluster.sh stop DIR           stop the cluster and remove DIR
#   pg-cluster.sh halt DIR           stop the server, keeping its data (an outage, for tests)
#   pg-cluster.sh resume DIR         start a halted server again on the same port
# `fast` turns off fsync (tests only: a crash of the test machine loses nothing anyone keeps).
# As root the cluster runs as the `postgres` user (initdb refuses root); otherwise as the caller.
set -euo pipefail

cmd=${1:?usage: pg-cluster.sh start|stop DIR [fast]}
dir=${2:?usage: pg-cluster.sh start|stop DIR [fast]}

bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
  command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return; }
  echo "pg-cluster: initdb not found (install Debian's postgresql package)" >&2
  exit 3
}

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

case "$cmd" in
  start)
    bin=$(bindir)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U hangar --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    # Trust for the test superuser on loopback; every other role must give its password, so tests
    # can provoke a failed password authentication.
    printf 'local all all trust\nhost all hangar 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n' >"$dir/data/pg_hba.conf"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir/data/pg_hba.conf"; fi
    port=$(free_port)
    opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c shared_buffers=128MB"
    if [ "${3:-}" = fast ]; then opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"; fi
    printf '%s\n' "$opts" >"$dir/opts"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://hangar@127.0.0.1:$port/postgres"
    ;;
  halt)
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$(cat "$dir/opts")" -w -t 60 start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    ;;
  stop)
    bin=$(bindir)
    if [ -d "$dir/data" ]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: pg-cluster.sh start|stop|halt|resume DIR [fast]" >&2
    exit 2
    ;;
esac
