#!/usr/bin/env bash
# How the bridge's main thread spends its time while a load runs: on a CPU, or waiting for one
# (runnable, but the cores are taken: by Postgres, the load generator, the export worker); and how
# much CPU the machine's PostgreSQL server processes use meanwhile. Samples
# /proc/<pid>/task/<pid>/schedstat of the running bridge (`dist/cli.js serve`) and /proc/<pid>/stat
# of every `postgres` process every 3 s, for the given number of samples:
#
#   npm run bench -- --only=postgres --rounds=1 & bash bench/main-thread-wait.sh 14
set -euo pipefail
samples=${1:-10}
ticks=$(getconf CLK_TCK)

postgres_ticks() {
  local total=0 pid fields
  for pid in $(pgrep -x postgres || true); do
    fields=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a f <<< "$fields"
    total=$((total + f[11] + f[12])) # utime + stime
  done
  echo "$total"
}

for _ in $(seq 1 "$samples"); do
  pid=$(pgrep -f 'dist/cli.js serve' | head -1 || true)
  if [ -z "$pid" ]; then
    sleep 2
    continue
  fi
  read -r run_before wait_before slices_before < "/proc/$pid/task/$pid/schedstat" || continue
  pg_before=$(postgres_ticks)
  sleep 3
  read -r run_after wait_after slices_after < "/proc/$pid/task/$pid/schedstat" || continue
  pg_after=$(postgres_ticks)
  echo "bridge $pid main thread: on a CPU $(((run_after - run_before) / 30000000)) %," \
    "waiting for a CPU $(((wait_after - wait_before) / 30000000)) %," \
    "$(((slices_after - slices_before) / 3)) runs/s; postgres processes: $(((pg_after - pg_before) * 100 / ticks / 3)) % of a core"
done
