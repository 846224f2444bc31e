#!/usr/bin/env bash
# Reproducible server benchmarks (docs/benchmarks.md, "Reproducing the figures").
#
# On a fresh checkout: builds the release binary, makes a fresh store (SQLite, and
# PostgreSQL when --postgres URL is given), optionally seeds it, starts `midoffice
# serve` on it, runs the documented mixes with `midoffice bench` (each beside its
# empty-handler baseline, except the open loops), records the server's peak resident
# memory (VmHWM), and writes every bench's text and JSON, a summary.md table and a
# summary.json into a results folder (docs/benchmarks/results/, ignored by git).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: docs/benchmarks/run.sh [options]

  --seed-contacts N    seed N contacts before the server starts (default 0: empty store)
  --seed-parties P     citizens of the seed (default N / 10, at least 1)
  --sqlite-store DIR   serve this SQLite data folder (made by `midoffice seed`) instead
                       of a fresh store; it is written to, so pass a copy. The seed's
                       secret must be in MIDOFFICE_SECRET. Not with --seed-contacts.
  --postgres URL       also run on PostgreSQL: a fresh database is created under this
                       server URL (postgres://USER@HOST:PORT/DB) and dropped afterwards
  --only BACKEND       sqlite or postgres: run that backend alone
  --runs LIST          comma-separated runs (default all): start-complete-c16,
                       context-c16, mixed-c16, figures-c4, open-500, open-1000
  --duration D         measured time per run (default 10s)
  --warmup D           warm-up per run, not counted (default 2s)
  --port PORT          the server's port on 127.0.0.1 (default 50091)
  --rebuild-wait S     after a seed, wait at most S seconds for the server's rebuild of
                       the figure rollups before measuring (default 900)
  --out DIR            the results folder (default docs/benchmarks/results/<UTC time>)
  --no-build           use target/release/midoffice as it is (or $MIDOFFICE_BIN)
  --keep-store         keep the SQLite folder / PostgreSQL database afterwards
  -h, --help           this text
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SEED_CONTACTS=0
SQLITE_STORE=""
SEED_PARTIES=""
POSTGRES_URL=""
ONLY=""
RUNS_WANTED="all"
DURATION=10s
WARMUP=2s
PORT=50091
REBUILD_WAIT=900
OUT=""
BUILD=1
KEEP=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seed-contacts) SEED_CONTACTS=$2; shift 2 ;;
        --sqlite-store) SQLITE_STORE=$2; shift 2 ;;
        --seed-parties) SEED_PARTIES=$2; shift 2 ;;
        --postgres) POSTGRES_URL=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --runs) RUNS_WANTED=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --port) PORT=$2; shift 2 ;;
        --rebuild-wait) REBUILD_WAIT=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --keep-store) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$ONLY" in ""|sqlite|postgres) ;; *) echo "run.sh: --only sqlite or postgres" >&2; exit 2 ;; esac
if [ "$ONLY" = postgres ] && [ -z "$POSTGRES_URL" ]; then
    echo "run.sh: --only postgres needs --postgres URL" >&2
    exit 2
fi
if [ -n "$SQLITE_STORE" ]; then
    if [ "$SEED_CONTACTS" -gt 0 ]; then
        echo "run.sh: --sqlite-store and --seed-contacts exclude each other" >&2
        exit 2
    fi
    [ -f "$SQLITE_STORE/midoffice.db" ] || { echo "run.sh: no $SQLITE_STORE/midoffice.db" >&2; exit 2; }
    [ -n "${MIDOFFICE_SECRET:-}" ] || { echo "run.sh: --sqlite-store needs the seed's secret in MIDOFFICE_SECRET" >&2; exit 2; }
    SQLITE_STORE=$(cd "$SQLITE_STORE" && pwd)
fi
if [ -z "$SEED_PARTIES" ]; then
    SEED_PARTIES=$(( SEED_CONTACTS / 10 > 0 ? SEED_CONTACTS / 10 : 1 ))
fi

# The documented runs: name and `midoffice bench` flags.
ALL_RUNS=(
    "start-complete-c16|--mix start-complete --concurrency 16"
    "context-c16|--mix context --concurrency 16"
    "mixed-c16|--mix mixed --concurrency 16"
    "figures-c4|--mix figures --concurrency 4"
    "open-500|--mix start-complete --rate 500 --no-baseline"
    "open-1000|--mix start-complete --rate 1000 --no-baseline"
)
RUNS=()
for run in "${ALL_RUNS[@]}"; do
    name=${run%%|*}
    if [ "$RUNS_WANTED" = all ] || [[ ",$RUNS_WANTED," == *",$name,"* ]]; then
        RUNS+=("$run")
    fi
done
if [ ${#RUNS[@]} -eq 0 ]; then
    echo "run.sh: --runs names none of the runs" >&2
    exit 2
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "run.sh: 127.0.0.1:$PORT is in use; choose another --port" >&2
    exit 1
fi

# MIDOFFICE_BIN: another binary to measure (implies --no-build).
BIN=${MIDOFFICE_BIN:-$ROOT/target/release/midoffice}
[ -n "${MIDOFFICE_BIN:-}" ] && BUILD=0
if [ "$BUILD" = 1 ]; then
    echo "run.sh: cargo build --release -p midoffice" >&2
    (cd "$ROOT" && cargo build --release -p midoffice)
fi
[ -x "$BIN" ] || { echo "run.sh: no $BIN (drop --no-build)" >&2; exit 1; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=${OUT:-$ROOT/docs/benchmarks/results/$STAMP}
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/midoffice-bench.XXXXXX")
# A secret for this run only: the seed and the server must share it (a seeded
# --sqlite-store brings its own in MIDOFFICE_SECRET).
if [ -z "$SQLITE_STORE" ]; then
    MIDOFFICE_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
fi
export MIDOFFICE_SECRET
SERVER_PID=""
PG_DB=""

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "$KEEP" = 0 ]; then
        rm -rf "$WORK"
        if [ -n "$PG_DB" ]; then
            psql "$POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$PG_DB\"" >/dev/null 2>&1 || true
        fi
    else
        echo "run.sh: kept $WORK${PG_DB:+ and database $PG_DB}" >&2
    fi
}
trap cleanup EXIT

{
    echo "binary: $BIN"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "started: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "cores: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)"
    if [ -n "$SQLITE_STORE" ]; then
        echo "store: $SQLITE_STORE ($(du -sh "$SQLITE_STORE" | cut -f1))"
    else
        echo "seed: $SEED_CONTACTS contacts, $SEED_PARTIES parties"
    fi
    echo "duration: $DURATION, warmup: $WARMUP"
} > "$RESULTS/machine.txt"

# The server's memory now, as "VmRSS VmHWM" in kB.
memory() {
    awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r, h}' "/proc/$1/status" 2>/dev/null || echo "- -"
}

# run_backend NAME DATABASE_URL DATA_DIR
run_backend() {
    local backend=$1 url=$2 data=$3
    local log=$RESULTS/$backend-server.log
    mkdir -p "$data"
    if [ "$SEED_CONTACTS" -gt 0 ]; then
        echo "run.sh: $backend: seeding $SEED_CONTACTS contacts, $SEED_PARTIES parties" >&2
        local began=$SECONDS
        "$BIN" seed --mode development --data-dir "$data" --database-url "$url" \
            --parties "$SEED_PARTIES" --contacts "$SEED_CONTACTS" --random-seed 1 \
            > "$RESULTS/$backend-seed.txt" 2>&1
        echo "seed wall clock: $(( SECONDS - began )) s" >> "$RESULTS/$backend-seed.txt"
    fi
    echo "run.sh: $backend: serving on 127.0.0.1:$PORT" >&2
    RUST_LOG=warn,midoffice=info "$BIN" serve --listen "127.0.0.1:$PORT" --mode development \
        --data-dir "$data" --database-url "$url" > "$log" 2>&1 &
    SERVER_PID=$!
    local waited=0
    until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "run.sh: $backend: the server stopped; see $log" >&2
            return 1
        fi
        sleep 0.2
        waited=$(( waited + 1 ))
        if [ "$waited" -gt 600 ]; then
            echo "run.sh: $backend: the server did not listen within 2 minutes" >&2
            return 1
        fi
    done
    if [ "$SEED_CONTACTS" -gt 0 ] || { [ "$backend" = sqlite ] && [ -n "$SQLITE_STORE" ]; }; then
        # A seeded tenant's figure rollups may be rebuilt at start-up: measuring during
        # the rebuild would measure the rebuild. Wait until the server is idle (under a
        # tenth of a core for 3 s) or says the rebuild is done.
        local began=$SECONDS hz t0 t1
        hz=$(getconf CLK_TCK)
        while [ $(( SECONDS - began )) -lt "$REBUILD_WAIT" ]; do
            grep -q "figure rollups rebuilt\|figure rollups not rebuilt" "$log" && break
            t0=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
            sleep 3
            t1=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
            [ $(( (t1 - t0) * 10 )) -lt $(( 3 * hz )) ] && break
        done
        echo "rollup rebuild wait: $(( SECONDS - began )) s" >> "$RESULTS/$backend-seed.txt"
    fi
    local run name flags
    for run in "${RUNS[@]}"; do
        name=${run%%|*}
        flags=${run#*|}
        echo "run.sh: $backend: $name (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" > "$RESULTS/$backend-$name.txt"
        # shellcheck disable=SC2086
        if ! "$BIN" bench --endpoint "http://127.0.0.1:$PORT" $flags \
            --duration "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" \
            --json "$RESULTS/$backend-$name.json" >> "$RESULTS/$backend-$name.txt" 2>&1; then
            echo "run.sh: $backend: $name failed; see $RESULTS/$backend-$name.txt" >&2
        fi
        echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/$backend-$name.txt"
        echo "$name $(memory "$SERVER_PID")" >> "$RESULTS/$backend-memory.txt"
    done
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

if [ "$ONLY" != postgres ]; then
    if [ -n "$SQLITE_STORE" ]; then
        run_backend sqlite "sqlite://$SQLITE_STORE/midoffice.db?mode=rwc" "$SQLITE_STORE"
    else
        run_backend sqlite "sqlite://$WORK/sqlite/data/midoffice.db?mode=rwc" "$WORK/sqlite/data"
    fi
fi
if [ -n "$POSTGRES_URL" ] && [ "$ONLY" != sqlite ]; then
    PG_DB="midoffice_bench_$(date -u +%Y%m%d%H%M%S)_$$"
    psql "$POSTGRES_URL" -qc "CREATE DATABASE \"$PG_DB\"" >/dev/null
    run_backend postgres "${POSTGRES_URL%/*}/$PG_DB" "$WORK/postgres/data"
fi
echo "finished: $(date -u +%Y-%m-%dT%H:%M:%SZ)" >> "$RESULTS/machine.txt"

python3 - "$RESULTS" <<'PY'
import json, os, sys
results = sys.argv[1]
machine = dict(
    line.split(": ", 1) for line in open(os.path.join(results, "machine.txt")).read().splitlines()
)
rows, runs = [], []
for backend in ("sqlite", "postgres"):
    memory = {}
    path = os.path.join(results, f"{backend}-memory.txt")
    if not os.path.exists(path):
        continue
    for line in open(path):
        name, rss, hwm = line.split()
        memory[name] = (rss, hwm)
    for name in memory:
        text = open(os.path.join(results, f"{backend}-{name}.txt")).read().splitlines()
        load = [l.split(": ", 1)[1] for l in text if l.startswith("load ")]
        jpath = os.path.join(results, f"{backend}-{name}.json")
        report = json.load(open(jpath)) if os.path.exists(jpath) else None
        rss, hwm = memory[name]
        run = {"backend": backend, "run": name, "load": load,
               "rss_kb": rss, "peak_rss_kb": hwm, "report": report}
        runs.append(run)
        if report is None:
            rows.append(f"| {backend} | {name} | failed, see {backend}-{name}.txt | | | | | | | | |")
            continue
        usage = report.get("server_usage") or {}
        seconds = report["duration_seconds"] + report["warmup_seconds"]
        cores = usage.get("cpu_seconds", 0) / seconds if seconds else 0
        for rpc, side in report["server"]["rpcs"].items():
            base = (report.get("baseline") or {}).get("rpcs", {}).get(rpc)
            ratio = report["ratio_to_baseline"].get(rpc)
            lat = side["latency_ms"]
            def fmt(v, d=1):
                return "-" if v is None else f"{v:.{d}f}"
            base_rate = "-" if base is None else f"{base['ok_per_second']:.0f}"
            ratio_text = "-" if ratio is None else f"{100 * ratio:.1f} %"
            peak = f"{int(hwm) // 1024} MB" if hwm.isdigit() else "-"
            per_call = (
                f"{cores:.2f} / {fmt(usage.get('cpu_ms_per_call'), 3)}"
                f" / {fmt(usage.get('context_switches_per_call'))}"
            )
            rows.append(
                f"| {backend} | {name} | {rpc} | {side['ok_per_second']:.0f} | {side['failed']} "
                f"| {fmt(lat['p50'], 2)} | {fmt(lat['p99'], 2)} | {base_rate} | {ratio_text} "
                f"| {per_call} | {peak} |"
            )
header = [
    f"# midoffice benchmarks, {machine.get('started', '?')}",
    "",
    "| | |", "|---|---|",
] + [f"| {k} | {v} |" for k, v in machine.items()] + [
    "",
    "Made by `docs/benchmarks/run.sh`. The machine's load average before and after each run is in",
    "its `.txt`; where other work shares the machine, read the ratio to the baseline (an empty",
    "handler measured in the same run), not the absolute rates.",
    "",
    "| backend | run | rpc | ok/s | failed | p50 ms | p99 ms | baseline ok/s | ratio | server cores / CPU ms per call / switches per call | server peak RSS so far |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]
open(os.path.join(results, "summary.md"), "w").write("\n".join(header + rows) + "\n")
json.dump({"machine": machine, "runs": runs}, open(os.path.join(results, "summary.json"), "w"), indent=2)
print(open(os.path.join(results, "summary.md")).read())
PY
echo "run.sh: results in $RESULTS" >&2
