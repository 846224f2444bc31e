#!/usr/bin/env python3
"""An independent load generator for midoffice: a second opinion on `midoffice bench`.

It shares no code with the server or with `midoffice bench`: the client is grpcio's
asyncio API, the stubs are generated at run time by grpcio-tools from the repository's
proto/ files, and the population, the mixes and the statistics are written here anew
from their description in docs/benchmarks.md. Only the empty-handler baseline is the
project's (`midoffice bench-baseline`, the tonic server `bench` uses), so that the
baseline is the same kind of endpoint as the server measured.

What it does, in one run: records a contact for the known citizens, drives the server
(closed loop at a concurrency, or open loop at a rate with latency counted from each
operation's planned send time), keeps the largest answer of each RPC, starts the empty
handler with those answers and drives it in the same way, and prints a table (and JSON)
of throughput, latency percentiles and errors by status per RPC, the ratio to the
baseline, the server's and the baseline's CPU per call (from /proc, same machine only)
and the generator's own CPU, so that a reader can see whether the generator was the
bound.

Python's own CPU limits one process to a few thousand calls a second, so the load is
spread over --processes worker processes (each its own event loop and connections).

See docs/benchmarks/independent/README.md.
"""

import argparse
import asyncio
import datetime
import json
import math
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

RPCS = [
    "StartContact",
    "CompleteContact",
    "RecordContact",
    "GetContext",
    "GetThermometer",
    "GetFigures",
]

TOPICS = [
    "paspoort",
    "parkeervergunning",
    "afval",
    "verhuizing",
    "belastingen",
    "wmo",
    "bijstand",
    "rijbewijs",
    "geboorteaangifte",
    "bouwvergunning",
]

MAX_IN_FLIGHT = 20_000


# ---------------------------------------------------------------------------------
# Stubs, generated at run time.


def generate_stubs(proto_dir, out_dir):
    """Runs grpcio-tools' protoc over proto_dir into out_dir."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = []
    for root, _, names in os.walk(os.path.join(proto_dir, "midoffice")):
        files += [os.path.join(root, n) for n in names if n.endswith(".proto")]
    files.append(os.path.join(proto_dir, "google", "api", "field_behavior.proto"))
    code = protoc.main(
        [
            "protoc",
            f"-I{proto_dir}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *sorted(files),
        ]
    )
    if code != 0:
        raise SystemExit(f"protoc failed ({code}) on {proto_dir}")
    # No __init__.py: `google` must stay a namespace package beside protobuf's.


def import_stubs(stub_dir):
    if stub_dir not in sys.path:
        sys.path.insert(0, stub_dir)
    from midoffice.v1 import contacts_pb2, contacts_pb2_grpc
    from midoffice.v1 import figures_pb2, figures_pb2_grpc
    from midoffice.v1 import parties_pb2, parties_pb2_grpc
    from midoffice.v1 import types_pb2

    return {
        "contacts": contacts_pb2,
        "contacts_grpc": contacts_pb2_grpc,
        "figures": figures_pb2,
        "figures_grpc": figures_pb2_grpc,
        "parties": parties_pb2,
        "parties_grpc": parties_pb2_grpc,
        "types": types_pb2,
    }


# ---------------------------------------------------------------------------------
# The citizens (docs/benchmarks.md, "The citizens").


def valid_bsn(n):
    digits = [int(c) for c in f"{n:09d}"]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1))) - digits[8]
    return total % 11 == 0


class Population:
    """70 % BSN only, 10 % BSN and phone, 10 % e-mail only, 10 % phone only; the same
    citizens in every process for the same seed. Numbers are in ranges of their own
    (BSNs from 300,000,000, phones 0630..., e-mail @lg.example.nl), so these citizens
    are not `midoffice bench`'s."""

    def __init__(self, n, known, seed):
        rng = random.Random(seed * 7919 + 17)
        candidate = 300_000_000
        self.citizens = []
        self.known = known
        for i in range(n):
            kind = rng.randrange(10)
            topic = TOPICS[skewed(rng, len(TOPICS))]
            bsn = phone = email = ""
            if kind <= 7:
                candidate += 1
                while not valid_bsn(candidate):
                    candidate += 1
                bsn = f"{candidate:09d}"
            if kind == 7 or kind == 9:
                phone = f"06{30_000_000 + i:08d}"
            if kind == 8:
                email = f"burger{i}@lg.example.nl"
            self.citizens.append((bsn, email, phone, topic))

    def caller(self, rng):
        if self.known > 0 and rng.random() < 0.5:
            pool = self.known
        else:
            pool = len(self.citizens)
        return self.citizens[skewed(rng, pool)]

    def known_one(self, rng):
        return self.citizens[skewed(rng, max(1, min(self.known, len(self.citizens))))]


def skewed(rng, n):
    """An index below n, the low ones more often (the square of a uniform draw)."""
    u = rng.random()
    return min(int(u * u * n), n - 1)


# ---------------------------------------------------------------------------------
# One worker process.


class Side:
    """What one worker measured on one side (server or baseline)."""

    def __init__(self):
        self.latency = {r: [] for r in RPCS}  # seconds, successful calls in the window
        self.errors = {}  # rpc -> status name -> count
        self.answered = {r: 0 for r in RPCS}  # successful answers that came in the window
        self.largest = {}  # rpc -> encoded answer (the largest seen)
        self.sent = 0  # every call sent, warm-up included
        self.not_sent = 0
        self.lag = []  # open loop: seconds between planned and actual send
        self.cpu = 0.0  # this process's CPU seconds over the run

    def as_dict(self):
        return self.__dict__


class Worker:
    def __init__(self, cfg, pb, index, side_name, target):
        import grpc

        self.grpc = grpc
        self.cfg = cfg
        self.pb = pb
        self.index = index
        self.side_name = side_name
        self.side = Side()
        self.keep_answers = side_name == "real"
        self.sequence = 0
        metadata = []
        if cfg["api_key"]:
            metadata.append(("authorization", f"Bearer {cfg['api_key']}"))
        if cfg["tenant"]:
            metadata.append(("x-tenant", cfg["tenant"]))
        self.metadata = tuple(metadata)
        self.channels = [
            grpc.aio.insecure_channel(
                target,
                # Each channel its own HTTP/2 connection (grpcio shares subchannels
                # between channels to one target otherwise).
                options=[("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)],
            )
            for _ in range(cfg["connections"])
        ]
        self.stubs = [
            (
                pb["contacts_grpc"].ContactServiceStub(c),
                pb["parties_grpc"].PartyServiceStub(c),
                pb["figures_grpc"].FigureServiceStub(c),
            )
            for c in self.channels
        ]
        self.population = Population(cfg["citizens"], cfg["known"], cfg["seed"])

    async def ready(self):
        await asyncio.gather(*(c.channel_ready() for c in self.channels))

    async def close(self):
        await asyncio.gather(*(c.close() for c in self.channels))

    def request_id(self):
        self.sequence += 1
        return f"lg-{self.cfg['run_id']}-{self.side_name}-{self.index}-{self.sequence}"

    # The messages.

    def timestamp(self, dt):
        from google.protobuf import timestamp_pb2

        ts = timestamp_pb2.Timestamp()
        ts.FromDatetime(dt)
        return ts

    def identifiers(self, citizen):
        bsn, email, phone, _ = citizen
        return self.pb["types"].Identifiers(bsn=bsn, email=email, phone=phone)

    def channel(self, rng):
        t = self.pb["types"]
        roll = rng.randrange(20)
        if roll <= 9:
            return t.CHANNEL_PHONE
        if roll <= 12:
            return t.CHANNEL_COUNTER
        if roll <= 16:
            return t.CHANNEL_WEB
        return t.CHANNEL_EMAIL

    def contact_start(self, citizen, channel, started):
        return self.pb["contacts"].ContactStart(
            channel=channel,
            direction=self.pb["types"].DIRECTION_INBOUND,
            started_at=self.timestamp(started),
            identifiers=self.identifiers(citizen),
            topic=citizen[3],
            department="klantcontactcentrum",
        )

    def completion(self, rng, citizen, channel, started, ended):
        t = self.pb["types"]
        roll = rng.randrange(100)
        if roll <= 64:
            outcome = t.OUTCOME_RESOLVED
        elif roll <= 76:
            outcome = t.OUTCOME_REFERRED
        elif roll <= 84:
            outcome = t.OUTCOME_CALLBACK
        elif roll <= 89:
            outcome = t.OUTCOME_HANDED_OFF
        else:
            outcome = t.OUTCOME_ABANDONED
        if outcome == t.OUTCOME_CALLBACK and not citizen[0]:
            outcome = t.OUTCOME_RESOLVED  # a weak-only citizen cannot be called back
        abandoned = outcome == t.OUTCOME_ABANDONED
        done = self.pb["contacts"].ContactCompletion(
            ended_at=self.timestamp(ended),
            outcome=outcome,
            story_repeated=(not abandoned) and rng.randrange(10) == 0,
        )
        if channel in (t.CHANNEL_PHONE, t.CHANNEL_COUNTER) and not abandoned:
            done.answered_at.CopyFrom(self.timestamp(started + datetime.timedelta(seconds=20)))
        if not abandoned:
            done.story = (
                f"Burger vroeg naar {citizen[3]}; uitgelegd wat nodig is en hoe het "
                "verder gaat."
            )
        if outcome == t.OUTCOME_REFERRED:
            done.referred_to.department = "vergunningen"
        return done

    def this_month(self):
        t = self.pb["types"]
        today = datetime.datetime.now(datetime.timezone.utc).date()
        nxt = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return self.pb["figures"].Period(
            start_date=t.Date(year=today.year, month=today.month, day=1),
            end_date=t.Date(year=nxt[0], month=nxt[1], day=1),
        )

    # Measuring.

    def record(self, rpc, planned, since, answer, code):
        self.side.sent += 1
        now = time.monotonic()
        if code is None and self.window_start <= now < self.window_end:
            self.side.answered[rpc] += 1
        if not (self.window_start <= planned < self.window_end):
            return
        if code is None:
            self.side.latency[rpc].append(now - since)
            if self.keep_answers:
                size = answer.ByteSize()
                kept = self.side.largest.get(rpc)
                if kept is None or len(kept) < size:
                    self.side.largest[rpc] = answer.SerializeToString()
        else:
            codes = self.side.errors.setdefault(rpc, {})
            codes[code] = codes.get(code, 0) + 1

    async def call(self, method, request):
        try:
            return await method(request, metadata=self.metadata), None
        except self.grpc.aio.AioRpcError as e:
            return None, e.code().name

    async def measured(self, rpc, method, request, planned, since=None):
        """One call, counted by its operation's planned time and measured from `since`
        (the planned time unless given); its answer, or None when it failed."""
        answer, code = await self.call(method, request)
        self.record(rpc, planned, planned if since is None else since, answer, code)
        return answer

    def new_contact(self, rng, minutes):
        """A caller, a channel, now, and a start `minutes` before now."""
        citizen = self.population.caller(rng)
        channel = self.channel(rng)
        now = datetime.datetime.now(datetime.timezone.utc)
        return citizen, channel, now, now - datetime.timedelta(minutes=minutes)

    async def perform(self, op, rng, planned, n):
        contacts, parties, figures = self.stubs[n % len(self.stubs)]
        if op == "start-complete":
            citizen, channel, now, started = self.new_contact(rng, 4)
            start = self.pb["contacts"].StartContactRequest(
                request_id=self.request_id(),
                start=self.contact_start(citizen, channel, started),
            )
            answer = await self.measured("StartContact", contacts.StartContact, start, planned)
            if answer is None or not answer.contact.id:
                return
            complete = self.pb["contacts"].CompleteContactRequest(
                request_id=self.request_id(),
                contact_id=answer.contact.id,
                completion=self.completion(rng, citizen, channel, started, now),
            )
            # Counted by the pair's plan, measured from its own sending.
            await self.measured(
                "CompleteContact", contacts.CompleteContact, complete, planned, time.monotonic()
            )
        elif op == "record":
            citizen, channel, now, started = self.new_contact(rng, 6)
            request = self.pb["contacts"].RecordContactRequest(
                request_id=self.request_id(),
                start=self.contact_start(citizen, channel, started),
                completion=self.completion(rng, citizen, channel, started, now),
                context_seen=True,
            )
            await self.measured("RecordContact", contacts.RecordContact, request, planned)
        elif op == "context":
            citizen = self.population.known_one(rng)
            request = self.pb["parties"].GetContextRequest(identifiers=self.identifiers(citizen))
            await self.measured("GetContext", parties.GetContext, request, planned)
        else:
            period = self.this_month()
            if rng.randrange(2) == 0:
                request = self.pb["figures"].GetThermometerRequest(period=period)
                await self.measured("GetThermometer", figures.GetThermometer, request, planned)
            else:
                request = self.pb["figures"].GetFiguresRequest(period=period)
                await self.measured("GetFigures", figures.GetFigures, request, planned)

    def choose(self, rng):
        mix = self.cfg["mix"]
        if mix != "mixed":
            return mix
        roll = rng.randrange(1000)
        if roll < 480:
            return "start-complete"
        if roll < 880:
            return "context"
        if roll < 990:
            return "record"
        return "figures"

    async def run(self, begin):
        cfg = self.cfg
        processes = cfg["processes"]
        self.window_start = begin + cfg["warmup"]
        self.window_end = self.window_start + cfg["duration"]
        seed = cfg["seed"] * 1_000_003 + self.index
        if cfg["rate"] is None:
            share = cfg["concurrency"] // processes + (self.index < cfg["concurrency"] % processes)

            async def caller(w):
                rng = random.Random(seed * 131 + w)
                n = w
                while time.monotonic() < self.window_end:
                    await self.perform(self.choose(rng), rng, time.monotonic(), n)
                    n += 1

            delay = begin - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await asyncio.gather(*(caller(w) for w in range(share)))
        else:
            # This process sends operations k, k + P, k + 2P, ... of the common plan.
            interval = 1.0 / cfg["rate"]
            rng = random.Random(seed)
            in_flight = set()
            n = self.index
            while True:
                planned = begin + n * interval
                if planned >= self.window_end:
                    break
                delay = planned - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if planned >= self.window_start:
                    self.side.lag.append(time.monotonic() - planned)
                if len(in_flight) >= MAX_IN_FLIGHT:
                    if planned >= self.window_start:
                        self.side.not_sent += 1
                else:
                    op_rng = random.Random(rng.getrandbits(64))
                    task = asyncio.ensure_future(self.perform(self.choose(rng), op_rng, planned, n))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                n += processes
            if in_flight:
                await asyncio.gather(*in_flight)

    async def prefill(self, share):
        """Records one contact for each known citizen i with i % processes == index."""
        contacts = self.stubs[0][0]
        rng = random.Random(self.index)
        todo = list(share)

        async def one():
            while todo:
                i = todo.pop()
                citizen = self.population.citizens[i]
                channel = self.channel(rng)
                ended = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
                started = ended - datetime.timedelta(minutes=5)
                request = self.pb["contacts"].RecordContactRequest(
                    request_id=f"lg-{self.cfg['run_id']}-known-{i}",
                    start=self.contact_start(citizen, channel, started),
                    completion=self.completion(rng, citizen, channel, started, ended),
                )
                _, code = await self.call(contacts.RecordContact, request)
                if code is not None:
                    raise RuntimeError(f"recording known citizen {i} failed: {code}")

        await asyncio.gather(*(one() for _ in range(4)))


def worker_main(conn, cfg, index):
    """A worker process: connects, waits for the go, runs, sends back what it measured."""
    pb = import_stubs(cfg["stub_dir"])

    async def main():
        loop = asyncio.get_running_loop()
        while True:
            order = await loop.run_in_executor(None, conn.recv)
            if order["do"] == "stop":
                return
            worker = Worker(cfg, pb, index, order["side"], order["target"])
            await worker.ready()
            if order["do"] == "prefill":
                known = range(index, cfg["known"], cfg["processes"])
                await worker.prefill(known)
                await worker.close()
                conn.send({"done": True})
                continue
            conn.send({"ready": True})
            go = await loop.run_in_executor(None, conn.recv)
            cpu_before = time.process_time()
            await worker.run(go["begin"])
            worker.side.cpu = time.process_time() - cpu_before
            await worker.close()
            conn.send(worker.side.as_dict())

    asyncio.run(main())


# ---------------------------------------------------------------------------------
# The coordinator.


def proc_usage(pid):
    """CPU seconds and context switches of every thread of a process, from /proc."""
    cpu, switches = 0.0, 0
    ticks = os.sysconf("SC_CLK_TCK")
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/stat") as f:
                stat = f.read()
            with open(f"{task_dir}/{tid}/status") as f:
                status = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        cpu += (int(fields[11]) + int(fields[12])) / ticks
        for line in status.splitlines():
            if "ctxt_switches:" in line:
                switches += int(line.split()[1])
    return cpu, switches


class Pool:
    def __init__(self, cfg):
        ctx = multiprocessing.get_context("spawn")
        self.pipes = []
        self.procs = []
        for k in range(cfg["processes"]):
            mine, theirs = ctx.Pipe()
            p = ctx.Process(target=worker_main, args=(theirs, cfg, k), daemon=True)
            p.start()
            self.pipes.append(mine)
            self.procs.append(p)

    def prefill(self, target):
        for c in self.pipes:
            c.send({"do": "prefill", "side": "known", "target": target})
        for c in self.pipes:
            c.recv()

    def drive(self, cfg, side, target):
        for c in self.pipes:
            c.send({"do": "run", "side": side, "target": target})
        for c in self.pipes:
            c.recv()
        begin = time.monotonic() + 0.5
        for c in self.pipes:
            c.send({"begin": begin})
        parts = [c.recv() for c in self.pipes]
        # The whole run: warm-up, window, and the answers still due after it.
        wall = time.monotonic() - begin
        for p in parts:
            p["wall"] = wall
        return parts

    def stop(self):
        for c in self.pipes:
            c.send({"do": "stop"})
        for p in self.procs:
            p.join(timeout=10)


def merge(parts, seconds):
    out = {
        "seconds": seconds,
        "wall_seconds": max(p["wall"] for p in parts),
        "rpcs": {},
        "not_sent": 0,
        "generator_cpu_seconds": 0.0,
    }
    lag = []
    for part in parts:
        out["not_sent"] += part["not_sent"]
        out["generator_cpu_seconds"] += part["cpu"]
        lag += part["lag"]
    out["calls_sent"] = sum(p["sent"] for p in parts)
    for rpc in RPCS:
        lat = sorted(x for p in parts for x in p["latency"][rpc])
        errors = {}
        for p in parts:
            for code, n in p["errors"].get(rpc, {}).items():
                errors[code] = errors.get(code, 0) + n
        if not lat and not errors:
            continue
        out["rpcs"][rpc] = {
            "ok": len(lat),
            "failed": sum(errors.values()),
            "errors": errors,
            "ok_per_second": len(lat) / seconds,
            # Open loop: ok_per_second counts the calls planned in the window (all of
            # them when the server keeps up, however late); this counts the answers
            # that came in it, the rate the server kept.
            "answered_in_window_per_second": sum(p["answered"][rpc] for p in parts) / seconds,
            "latency_ms": {
                "p50": quantile_ms(lat, 0.5),
                "p90": quantile_ms(lat, 0.9),
                "p99": quantile_ms(lat, 0.99),
                "p999": quantile_ms(lat, 0.999),
                "max": lat[-1] * 1000 if lat else None,
            },
        }
    if lag:
        lag.sort()
        out["send_lag_ms"] = {
            "p50": quantile_ms(lag, 0.5),
            "p99": quantile_ms(lag, 0.99),
            "max": lag[-1] * 1000,
        }
    return out


def quantile_ms(sorted_values, q):
    """The nearest-rank quantile, in milliseconds."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1] * 1000


def largest_answers(parts):
    out = {}
    for p in parts:
        for rpc, data in p["largest"].items():
            if rpc not in out or len(out[rpc]) < len(data):
                out[rpc] = data
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the baseline exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the baseline did not listen within 20 s")


def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def usage_of(before, after, calls, seconds):
    cpu = after[0] - before[0]
    return {
        "cpu_seconds": cpu,
        "cores": cpu / seconds,
        "context_switches": after[1] - before[1],
        "calls": calls,
        "cpu_ms_per_call": cpu * 1000 / calls if calls else None,
        "context_switches_per_call": (after[1] - before[1]) / calls if calls else None,
    }


def table(report):
    cfg = report["load"]
    real, base = report["server"], report.get("baseline")
    shape = (
        f"open loop at {cfg['rate']} operations/s"
        if cfg["rate"] is not None
        else f"closed loop at concurrency {cfg['concurrency']}"
    )
    lines = [
        "",
        f"loadgen.py: mix {cfg['mix']}, {shape}, {cfg['duration']:.1f} s measured after "
        f"{cfg['warmup']:.1f} s warm-up; {cfg['processes']} processes x "
        f"{cfg['connections']} connections, {cfg['citizens']} citizens ({cfg['known']} known)",
        f"server: {report['endpoint']}",
        "",
        f"{'rpc':<16} {'ok':>8} {'failed':>6} {'ok/s':>9} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} | {'base ok/s':>10} {'base p50':>8} {'base p99':>8} | "
        f"{'ratio':>7}",
    ]
    for rpc in RPCS:
        r = real["rpcs"].get(rpc)
        if r is None:
            continue
        b = base["rpcs"].get(rpc) if base else None
        ratio = (
            f"{100 * r['ok_per_second'] / b['ok_per_second']:.1f} %"
            if b and b["ok_per_second"] > 0
            else "-"
        )
        lat = r["latency_ms"]
        lines.append(
            f"{rpc:<16} {r['ok']:>8} {r['failed']:>6} {r['ok_per_second']:>9.1f} "
            f"{fmt(lat['p50']):>8} {fmt(lat['p90']):>8} {fmt(lat['p99']):>8} "
            f"{fmt(lat['max']):>8} | "
            f"{(fmt(b['ok_per_second'], 0) if b else '-'):>10} "
            f"{(fmt(b['latency_ms']['p50']) if b else '-'):>8} "
            f"{(fmt(b['latency_ms']['p99']) if b else '-'):>8} | {ratio:>7}"
        )
    for side_name, side in (("failed", real), ("baseline failed", base)):
        if not side:
            continue
        for rpc, r in side["rpcs"].items():
            for code, n in r["errors"].items():
                lines.append(f"{side_name}: {rpc} {code} x {n}")
    for side_name, side in (("server", real), ("baseline", base)):
        if not side:
            continue
        if side["not_sent"]:
            lines.append(f"{side_name} run: not sent {side['not_sent']} (over {MAX_IN_FLIGHT} waiting)")
        if cfg["rate"] is not None:
            kept = ", ".join(
                f"{rpc} {r['answered_in_window_per_second']:.1f}/s" for rpc, r in side["rpcs"].items()
            )
            lines.append(f"{side_name} run: answers that came in the window: {kept}")
        if "send_lag_ms" in side:
            lag = side["send_lag_ms"]
            lines.append(
                f"{side_name} run: generator send lag p50 {fmt(lag['p50'])} ms, p99 "
                f"{fmt(lag['p99'])} ms, max {fmt(lag['max'])} ms (behind its own plan)"
            )
        lines.append(
            f"{side_name} run: {side['wall_seconds']:.1f} s in all; generator CPU "
            f"{side['generator_cpu_seconds']:.2f} s "
            f"({side['generator_cpu_seconds'] / side['wall_seconds']:.2f} cores)"
        )
    su, bu = report.get("server_usage"), report.get("baseline_usage")
    if su:
        lines.append(
            f"server: {su['cpu_seconds']:.2f} CPU s ({su['cores']:.2f} cores), "
            f"{fmt(su['cpu_ms_per_call'], 3)} CPU ms and "
            f"{fmt(su['context_switches_per_call'], 1)} context switches per call"
        )
    if bu:
        extra = ""
        if su and su["cpu_ms_per_call"] and bu["cpu_ms_per_call"]:
            extra = f"; server CPU per call {su['cpu_ms_per_call'] / bu['cpu_ms_per_call']:.1f} x the baseline's"
        lines.append(
            f"baseline: {fmt(bu['cpu_ms_per_call'], 3)} CPU ms and "
            f"{fmt(bu['context_switches_per_call'], 1)} context switches per call{extra}"
        )
    return "\n".join(lines) + "\n"


def parse_seconds(raw):
    raw = raw.strip()
    for unit, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0)):
        if raw.endswith(unit):
            return float(raw[: -len(unit)]) * factor
    return float(raw)


def main():
    ap = argparse.ArgumentParser(
        description="Independent load generator for midoffice (grpcio asyncio).",
    )
    ap.add_argument("--endpoint", default="127.0.0.1:50051", help="host:port of the server")
    ap.add_argument(
        "--mix",
        choices=["start-complete", "context", "record", "figures", "mixed"],
        default="mixed",
    )
    ap.add_argument("--concurrency", type=int, default=16, help="closed loop: callers in all")
    ap.add_argument("--rate", type=float, help="open loop: operations a second in all")
    ap.add_argument("--duration", type=parse_seconds, default=10.0, help="measured (10s, 2m)")
    ap.add_argument("--warmup", type=parse_seconds, default=2.0, help="run before measuring")
    ap.add_argument("--processes", type=int, default=2, help="worker processes")
    ap.add_argument("--connections", type=int, default=2, help="HTTP/2 connections per process")
    ap.add_argument("--citizens", type=int, default=10_000)
    ap.add_argument("--known", type=int, help="citizens recorded before the run [1000 for context and mixed, else 0]")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--api-key", default=os.environ.get("MIDOFFICE_BENCH_API_KEY"))
    ap.add_argument("--tenant")
    ap.add_argument("--server-pid", type=int, help="the server's pid, for its CPU per call")
    ap.add_argument(
        "--midoffice",
        default=os.path.join(REPO, "target", "release", "midoffice"),
        help="the binary whose `bench-baseline` serves the empty handler",
    )
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--baseline-only", action="store_true", help="drive only the empty handler (with empty answers): how fast the generator alone goes")
    ap.add_argument("--proto-dir", default=os.path.join(REPO, "proto"))
    ap.add_argument("--json", help="also write the report as JSON to this file")
    args = ap.parse_args()
    if args.processes < 1 or args.connections < 1 or args.citizens < 1 or args.concurrency < 1:
        ap.error("--processes, --connections, --citizens and --concurrency must be at least 1")
    if args.rate is not None and not (args.rate > 0 and math.isfinite(args.rate)):
        ap.error("--rate must be a positive number")
    known = args.known
    if known is None:
        known = 1000 if args.mix in ("context", "mixed") else 0

    workdir = tempfile.mkdtemp(prefix="midoffice-loadgen-")
    try:
        stub_dir = os.path.join(workdir, "stubs")
        os.makedirs(stub_dir)
        generate_stubs(args.proto_dir, stub_dir)
        cfg = {
            "stub_dir": stub_dir,
            "mix": args.mix,
            "concurrency": args.concurrency,
            "rate": args.rate,
            "duration": args.duration,
            "warmup": args.warmup,
            "processes": args.processes,
            "connections": args.connections,
            "citizens": max(args.citizens, known),
            "known": known,
            "seed": args.seed,
            "api_key": args.api_key,
            "tenant": args.tenant,
            "run_id": f"{int(time.time() * 1000):x}",
        }
        report = {
            "tool": "docs/benchmarks/independent/loadgen.py",
            "endpoint": args.endpoint,
            "load": {k: cfg[k] for k in ("mix", "concurrency", "rate", "duration", "warmup", "processes", "connections", "citizens", "known", "seed")},
            "loop": "open" if args.rate is not None else "closed",
            "loadavg_before": os.getloadavg(),
        }
        pool = Pool(cfg)
        try:
            if args.baseline_only:
                answers = {}
            else:
                if known:
                    began = time.monotonic()
                    pool.prefill(args.endpoint)
                    print(f"recorded a contact for {known} known citizens in {time.monotonic() - began:.1f} s", file=sys.stderr)
                before = proc_usage(args.server_pid) if args.server_pid else None
                parts = pool.drive(cfg, "real", args.endpoint)
                real = merge(parts, args.duration)
                report["server"] = real
                if before:
                    report["server_usage"] = usage_of(before, proc_usage(args.server_pid), real["calls_sent"], real["wall_seconds"])
                answers = largest_answers(parts)
            if not args.no_baseline:
                answer_dir = os.path.join(workdir, "answers")
                os.makedirs(answer_dir)
                for rpc, data in answers.items():
                    with open(os.path.join(answer_dir, f"{rpc}.bin"), "wb") as f:
                        f.write(data)
                report["baseline_answer_bytes"] = {rpc: len(d) for rpc, d in answers.items()}
                port = free_port()
                baseline = subprocess.Popen(
                    [args.midoffice, "bench-baseline", "--listen", f"127.0.0.1:{port}", "--answers", answer_dir],
                    stderr=subprocess.DEVNULL,
                )
                try:
                    wait_for_port(port, baseline)
                    before = proc_usage(baseline.pid)
                    parts = pool.drive(cfg, "base", f"127.0.0.1:{port}")
                    base = merge(parts, args.duration)
                    report["baseline"] = base
                    report["baseline_usage"] = usage_of(before, proc_usage(baseline.pid), base["calls_sent"], base["wall_seconds"])
                finally:
                    baseline.terminate()
                    baseline.wait(timeout=10)
                if args.baseline_only:
                    report["server"] = report["baseline"]
            report["loadavg_after"] = os.getloadavg()
            if "server" in report and "baseline" in report:
                report["ratio_to_baseline"] = {
                    rpc: (r["ok_per_second"] / report["baseline"]["rpcs"][rpc]["ok_per_second"])
                    if rpc in report["baseline"]["rpcs"] and report["baseline"]["rpcs"][rpc]["ok_per_second"] > 0
                    else None
                    for rpc, r in report["server"]["rpcs"].items()
                }
        finally:
            pool.stop()
        if args.baseline_only:
            report.pop("baseline", None)
            report["server_usage"] = report.pop("baseline_usage", None)
            report["endpoint"] = "the empty handler (midoffice bench-baseline), empty answers"
        print(table(report), end="")
        print(
            f"load average before {report['loadavg_before'][0]:.2f}, after {report['loadavg_after'][0]:.2f}"
        )
        if args.json:
            with open(args.json, "w") as f:
                json.dump(report, f, indent=2)
                f.write("\n")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
