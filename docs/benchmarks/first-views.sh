#!/usr/bin/env bash
# The first views of the dashboard and the public page after a restart, over HTTP
# (docs/benchmarks.md, "The first view of any period: answers computed ahead").
#
#   first-views.sh BINARY DATA_DIR PORT [--wait-ahead]
#
# Starts `BINARY serve` on the data folder (development mode, loopback; the secret from
# MIDOFFICE_SECRET, as the seed had it), waits until it listens and its start-up
# warm-up has read the first pages, and with --wait-ahead until its figures job has
# finished a pass (the log line is printed). Then asks each URL once (the first view,
# nothing of it in memory unless the warm-up read it) and three times more, and prints
# the HTTP status and the seconds of each. The tenant is the seed's `default`, the
# periods those of a store seeded over 2025-12-01..2026-12-07.
set -euo pipefail
bin=$1 data=$2 port=$3 wait=${4:-}
log=$(mktemp)
"$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
started=$(date +%s.%N)
until grep -q 'links=true' "$log"; do
    kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.2
done
echo "warm-up done after $(echo "$(date +%s.%N) - $started" | bc) s"
if [ "$wait" = --wait-ahead ]; then
    until grep -q 'dashboard answers computed ahead' "$log"; do sleep 1; done
    echo "figures job's pass done after $(echo "$(date +%s.%N) - $started" | bc) s:"
    grep 'dashboard answers computed ahead' "$log" | head -1
fi
base="http://127.0.0.1:$port"
for path in \
    '/dashboard/default?from=2026-06-01&to=2026-06-30' \
    '/dashboard/default?from=2026-06-01&to=2026-06-30&step=day' \
    '/dashboard/default?from=2026-04-01&to=2026-06-30' \
    '/dashboard/default?from=2026-04-01&to=2026-06-30&topic=paspoort' \
    '/dashboard/default?from=2026-04-01&to=2026-06-30&department=afval' \
    '/dashboard/default?from=2026-01-01&to=2026-03-31&channel=phone' \
    '/dashboard/default?from=2025-12-01&to=2026-11-30' \
    '/dashboard/default?from=2025-12-01&to=2026-11-30&step=week' \
    '/dashboard/default?from=2025-12-01&to=2026-11-30&step=day' \
    '/dashboard/default.csv?from=2025-12-01&to=2026-11-30&step=day&topic=grofvuil' \
    '/thermometer/default?from=2026-06-01&to=2026-06-30' \
    '/thermometer/default.json?from=2026-02-01&to=2026-02-28' \
    '/dashboard/default?from=2026-03-15&to=2026-04-14' \
    '/dashboard/default?from=2026-01-15&to=2026-06-14&step=month' \
    '/dashboard/default?from=2026-06-02&to=2026-06-04' \
    '/dashboard/default?from=2026-07-01&to=2026-09-30&channel=phone&topic=paspoort'; do
    first=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$base$path")
    then=""
    for _ in 1 2 3; do
        then="$then $(curl -s -o /dev/null -w '%{time_total}' "$base$path")"
    done
    echo "$path  first: $first  then:$then"
done
