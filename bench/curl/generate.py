#!/usr/bin/env python3
"""Independent event generator for the curl ingest benchmark.

Written apart from the aggregator's own code and bench client on purpose: the data has the shape of
a real gateway's traffic, not of what the server finds easy. 3 tenants with 4 agents and 3 users
each, 5 tools on 4 servers, 3 models; 5 % failures (40 % on one tool); log-normal latency; request
100-20,000 bytes, response 50-60,000 bytes; 30 % of events carry token counts; ids like
ev-31337-2026-09-01-12345; times in random order (--times ordered: in time order, for comparison),
RFC 3339 with 6 fractional digits and Z.

Writes, into --out:
  batch-NNNNN.json (or .ndjson)  the request bodies, --batch events each
  events.csv                     the same rows, for the psql \\copy baseline
"""
import argparse
import csv
import json
import math
import os
import random
from datetime import datetime, timedelta, timezone

TOOLS = [  # (tool, server): 5 tools on 4 servers
    ("search_issues", "github"),
    ("create_pull_request", "github"),
    ("query", "postgres"),
    ("web_search", "tavily"),
    ("read_page", "confluence"),
]
FLAKY_TOOL = "web_search"
MODELS = ["gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash"]
TENANTS = ["acme", "globex", "initech"]
COLUMNS = ["event_id", "type", "time", "agent_id", "tool_name", "server_label", "user_id", "tenant_id", "model",
           "status", "latency_ms", "request_bytes", "response_bytes", "input_tokens", "output_tokens"]


def events(count, run_id, end, span, rng, ordered):
    times = [end - timedelta(microseconds=rng.randrange(int(span.total_seconds() * 1_000_000))) for _ in range(count)]
    if ordered:
        times.sort()
    for n, time in enumerate(times):
        tenant = rng.choice(TENANTS)
        tool, server = rng.choice(TOOLS)
        failed = rng.random() < (0.40 if tool == FLAKY_TOOL else 0.05)
        event = {
            "type": "tool_call",
            "time": time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "event_id": f"ev-{run_id}-{time:%Y-%m-%d}-{n}",
            "agent_id": f"{tenant}-agent-{rng.randrange(4)}",
            "tool_name": tool,
            "server_label": server,
            "user_id": f"{tenant}-user-{rng.randrange(3)}",
            "tenant_id": tenant,
            "model": rng.choice(MODELS),
            "status": "failure" if failed else "success",
            "latency_ms": round(math.exp(rng.gauss(5.3, 0.9)), 3),
            "request_bytes": rng.randint(100, 20_000),
            "response_bytes": rng.randint(50, 60_000),
        }
        if rng.random() < 0.30:
            event["input_tokens"] = rng.randint(50, 8_000)
            event["output_tokens"] = rng.randint(10, 2_000)
        yield event


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=1_000)
    p.add_argument("--format", choices=["json", "ndjson"], default="json")
    p.add_argument("--days-back", type=int, default=0,
                   help="0: real time, the last hour up to now; N: the same hour N days back (backfill)")
    p.add_argument("--times", choices=["shuffled", "ordered"], default="shuffled",
                   help="shuffled: in random order over the hour (the benchmark's case); ordered: in time order, ids "
                        "numbered in that order, as a gateway that sends events as they happen")
    p.add_argument("--run-id", type=int, default=None, help="part of every event_id (default: random)")
    p.add_argument("--seed", type=int, default=31337)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    rng = random.Random(a.seed)
    run_id = a.run_id if a.run_id is not None else random.SystemRandom().randrange(10_000, 99_999)
    end = datetime.now(timezone.utc) - timedelta(days=a.days_back, seconds=5)
    os.makedirs(a.out, exist_ok=True)
    rows = list(events(a.events, run_id, end, timedelta(hours=1), rng, a.times == "ordered"))

    with open(os.path.join(a.out, "events.csv"), "w", newline="") as f:
        w = csv.writer(f)
        for e in rows:
            w.writerow([e.get(c, "") for c in COLUMNS])
    for i in range(0, len(rows), a.batch):
        chunk = rows[i:i + a.batch]
        name = os.path.join(a.out, f"batch-{i // a.batch:05d}.{a.format}")
        with open(name, "w") as f:
            if a.format == "json":
                json.dump(chunk, f, separators=(",", ":"))
            else:
                f.writelines(json.dumps(e, separators=(",", ":")) + "\n" for e in chunk)
    print(f"{len(rows)} events, run id {run_id}, {(len(rows) + a.batch - 1) // a.batch} {a.format} bodies in {a.out}")


if __name__ == "__main__":
    main()
