"""Throughput of 1 vs 2 `deskbot serve` instances on one PostgreSQL, on loopback, with a FakeLLM.

    python benchmarks/instances.py [--instances 1 2] [--requests 400] [--concurrency 16] [--events 200]
                                   [--llm-delay 0.0] [--rate-limits database]

Each run starts a PostgreSQL of its own (`tests.postgres_server.PostgresServer`) and N real `deskbot serve` processes
(`tests.faults.serve_process.ServeProcess`: `python -m bot serve`, one answer process each, the sample knowledge,
the hash embedder, a FakeLLM that waits `--llm-delay` s per answer) on that one database. This process is the
clients: `--concurrency` of them send `--requests` `/v1/chat` requests in all (closed loop), round-robin over the
instances, then `--events` signed Slack `app_mention` events are sent to the instances in turn and timed until the
fake Slack Web API has every reply. Rate limits count where `--rate-limits` says (`[store] rate_limits`; limits are set
high enough never to refuse, so what is measured is their cost). Reported per N: API requests/s with p50/p99 latency,
Slack events answered per second. Bounded: at most 5,000 requests and 2,000 events a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.http.api_keys import ApiKeys  # noqa: E402
from adapters.http.slack.fake_web_api import FakeSlackWebApi  # noqa: E402
from bot.store.database import Database  # noqa: E402
from tests.adapters.http.conftest import fixture, slack_headers  # noqa: E402
from tests.faults.serve_process import ServeProcess  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402

MAX_REQUESTS = 5000
MAX_EVENTS = 2000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def mention(index: int) -> bytes:
    payload = fixture("slack_app_mention.json")
    payload["event_id"] = f"EvBench{index:05d}"
    payload["event"]["user"] = f"U{index:05d}"
    payload["event"]["ts"] = payload["event"]["event_ts"] = f"1700000000.{index:06d}"
    return json.dumps(payload).encode()


def instances(count: int, folder: Path, store_url: str, slack_api_url: str, args: argparse.Namespace) -> list[Any]:
    made = []
    for index in range(count):
        home = folder / f"instance-{index}"
        home.mkdir()
        serve = ServeProcess(
            home,
            slack_api_url,
            args.llm_delay,
            answer_processes="1",
            api_rate_limit_requests="1000000",
        )
        serve.env.update(
            {
                "DESKBOT_STORE__URL": store_url,
                "DESKBOT_STORE__RATE_LIMITS": args.rate_limits,
                "DESKBOT_GUARD__RATE_LIMIT_MESSAGES": "1000000",
            }
        )
        made.append(serve)
    return made


async def api_load(urls: list[str], key: str, requests: int, concurrency: int) -> tuple[float, list[float]]:
    """`requests` /v1/chat calls from `concurrency` clients, round-robin over `urls`: (seconds, latencies in ms)."""
    latencies: list[float] = []
    sent = 0

    async def client() -> None:
        nonlocal sent
        async with httpx.AsyncClient(timeout=60.0, headers={"Authorization": f"Bearer {key}"}) as http:
            while sent < requests:
                index = sent
                sent += 1
                began = time.perf_counter()
                body = {"message": "What is the returns policy?", "user_id": f"customer-{index}"}
                response = await http.post(f"{urls[index % len(urls)]}/v1/chat", json=body)
                response.raise_for_status()
                latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - began, latencies


async def slack_load(urls: list[str], fake: FakeSlackWebApi, events: int) -> float:
    """Seconds from the first event sent to the last reply received, over `events` events."""
    before = len(fake.calls)
    began = time.perf_counter()
    async with httpx.AsyncClient(timeout=30.0) as http:
        for index in range(events):
            body = mention(index)
            headers = {"Content-Type": "application/json", **slack_headers(body)}
            (
                await http.post(f"{urls[index % len(urls)]}/slack/events", content=body, headers=headers)
            ).raise_for_status()
    await fake.wait_for_calls(before + events, timeout_s=300.0)
    return time.perf_counter() - began


async def run(count: int, args: argparse.Namespace) -> dict[str, Any]:
    postgres = PostgresServer()
    fake = await FakeSlackWebApi().start()
    folder = Path(tempfile.mkdtemp(prefix="deskbot-instances-"))
    servers = instances(count, folder, postgres.url, fake.api_url, args)
    try:
        key = ApiKeys(Database(postgres.url)).create("bench")
        for serve in servers:
            serve.start()
        await asyncio.gather(*(serve.wait_ready(120.0) for serve in servers))
        urls = [serve.url for serve in servers]
        await api_load(urls, key, 20 * count, 4)  # warm-up: connections, first answers
        seconds, latencies = await api_load(urls, key, args.requests, args.concurrency)
        slack_seconds = await slack_load(urls, fake, args.events)
    finally:
        for serve in servers:
            serve.stop()
        await fake.stop()
        postgres.remove()
    return {
        "instances": count,
        "api_rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 0.99),
        "slack_events_per_s": args.events / slack_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--llm-delay", type=float, default=0.0)
    parser.add_argument("--rate-limits", choices=["process", "database"], default="database")
    args = parser.parse_args()
    if not 1 <= args.requests <= MAX_REQUESTS or not 1 <= args.events <= MAX_EVENTS:
        parser.error(f"--requests must be 1..{MAX_REQUESTS} and --events 1..{MAX_EVENTS}")
    rows = [asyncio.run(run(count, args)) for count in args.instances]
    print(
        f"requests={args.requests} concurrency={args.concurrency} events={args.events} llm_delay={args.llm_delay}s "
        f"rate_limits={args.rate_limits}"
    )
    print("| instances | API requests/s | p50 ms | p99 ms | Slack events answered/s |")
    print("| --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['instances']} | {row['api_rps']:.1f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} "
            f"| {row['slack_events_per_s']:.1f} |"
        )


if __name__ == "__main__":
    main()
