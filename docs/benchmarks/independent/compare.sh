#!/usr/bin/env bash
# Runs the issue-7 targets against one running server with both load generators, one
# after the other for each run: docs/benchmarks/independent/loadgen.py (grpcio) and
# `midoffice bench` (tonic). Each tool measures its own empty-handler baseline in the same
# run. Writes each tool's table and JSON into OUT, and the load average around each run.
#
#   docs/benchmarks/independent/compare.sh --endpoint 127.0.0.1:50071 --server-pid PID \
#       --midoffice target/release/midoffice --out /tmp/compare-sqlite
#
# Options: --runs "sc-c8 sc-c16 sc-c32 context-c16 open-250 open-500 open-1000"
#          --duration 8s --warmup 2s --processes 2 --python PYTHON
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
endpoint="" pid="" bin="" out="" python="python3"
runs="sc-c8 sc-c16 sc-c32 context-c16 open-250 open-500 open-1000"
duration="8s" warmup="2s" processes=2
while [ $# -gt 0 ]; do
  case "$1" in
    --endpoint) endpoint="$2"; shift 2 ;;
    --server-pid) pid="$2"; shift 2 ;;
    --midoffice) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --processes) processes="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$endpoint" ] || [ -z "$pid" ] || [ -z "$bin" ] || [ -z "$out" ]; then
  echo "need --endpoint, --server-pid, --midoffice and --out (see --help)" >&2
  exit 2
fi
mkdir -p "$out"
for run in $runs; do
  case "$run" in
    sc-c*) mix=start-complete; shape=(--concurrency "${run#sc-c}") ;;
    context-c*) mix=context; shape=(--concurrency "${run#context-c}") ;;
    mixed-c*) mix=mixed; shape=(--concurrency "${run#mixed-c}") ;;
    open-*) mix=start-complete; shape=(--rate "${run#open-}") ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  echo "== $run: loadgen.py (load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$out/summary.txt"
  "$python" "$here/loadgen.py" --endpoint "$endpoint" --mix "$mix" "${shape[@]}" \
    --duration "$duration" --warmup "$warmup" --processes "$processes" \
    --server-pid "$pid" --midoffice "$bin" --json "$out/$run-loadgen.json" \
    | tee "$out/$run-loadgen.txt" | tee -a "$out/summary.txt"
  echo "== $run: midoffice bench (load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$out/summary.txt"
  "$bin" bench --endpoint "http://$endpoint" --mix "$mix" "${shape[@]}" \
    --duration "$duration" --warmup "$warmup" --server-pid "$pid" \
    --json "$out/$run-bench.json" 2>/dev/null \
    | tee "$out/$run-bench.txt" | tee -a "$out/summary.txt"
  echo "load average after $run: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/summary.txt"
done
