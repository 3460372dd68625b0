"""Slack webhook benchmark: acknowledgement latency, dropped events and memory, on loopback only.

    python benchmarks/webhooks.py [--rate 200] [--events 10000] [--llm-delay 2.0] [--duplicate-every 20]
                                  [--max-in-flight N]

The server runs in its own process group exactly as `deskbot serve` runs it (`HttpServer`: `--workers` uvicorn workers
that verify, queue and acknowledge, `--answer-processes` answer processes at a lower CPU priority, SQLite store) with
the sample knowledge, the hash embedder and a FakeLLM that takes `--llm-delay` seconds per answer. This process plays
Slack: it sends signed `app_mention` events at a fixed rate (open loop: a send is never delayed by a slow answer),
re-sends every `--duplicate-every`-th event as a retry (`X-Slack-Retry-Num: 1`), and runs the fake Slack Web API that
records the replies. Reported: ack latency p50/p95/p99/max (of the 200s), non-200 acks, acknowledged events never
answered, replies per event, how long after its event each reply came, CPU per event (serving process, answer
processes), and the server's RSS after the first 1,000 events and after all of them (each sample taken once the
answers drained). `serving_gc_*`: the garbage collection pauses of the serving process once its heap was frozen
after start-up (each one stops its event loop), and the longest of the other processes'.

Overload: at a rate beyond what the server acknowledges, requests over `[server] max_in_flight` are refused with 503
+ Retry-After (Slack retries them); reported as `shed_503` with their latency (`shed_p99_ms`), beside the 200s.
`--chat-rate R` adds `/v1/chat` requests at R/s during the measured events (their own connections, answered by the
same slow FakeLLM, in the answer processes through the answer channel unless `--answer-processes 0`): beyond what the
server answers they are shed (`chat_503`, `chat_shed_p99_ms`: by `max_in_flight`, or when every answer place and
the wait queue are taken, `[server] chat_turns_per_answer_process` and `chat_queue`: `--chat-places`,
`--chat-queue`) while the Slack acknowledgements keep their own places. `--max-in-flight 100000` turns shedding
off, to compare; `--max-loop-lag-ms 25` also sheds the chats while the serving event loop is 25 ms behind
(`adapters.http.loop_lag`). Bounded: at most 20,000 events and 10 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil
from slack_sdk.signature import SignatureVerifier

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SECRET = "benchmark-signing-secret"
MAX_EVENTS = 20_000
MAX_SECONDS = 600


def worker_runtime() -> Any:
    """The runtime of every server process (`DESKBOT_SERVE_RUNTIME`): configured by the DESKBOT_ variables `run`
    sets, with a FakeLLM that takes BENCH_LLM_DELAY seconds per answer. The process records its garbage
    collection pauses (`record_gc_pauses`)."""
    from bot.config import load_settings
    from bot.llm.fake import FakeLLM
    from bot.plugins import PluginRegistry
    from bot.runtime import Runtime

    record_gc_pauses(Path(os.environ["DESKBOT_DATA_DIR"]) / f"gc-pauses-{os.getpid()}.json")
    registry = PluginRegistry()
    llm = FakeLLM(first_token_delay_s=float(os.environ["BENCH_LLM_DELAY"]))
    llm.calls = deque(maxlen=10)  # type: ignore[assignment]  # the fake records every prompt, for tests; not here
    registry.register("llm", "fake", lambda _settings: llm)
    return Runtime(load_settings(), registry)


def record_gc_pauses(path: Path, every_s: float = 1.0) -> None:
    """Time every collection this process makes once its heap is frozen (`gc.freeze` after start-up: the steady
    state), in ms, and write them to `path` as JSON every `every_s` (a server process is stopped by a signal, so
    nothing is left to write at exit)."""
    pauses: list[float] = []
    started = [0.0]
    frozen = [False]  # gc.get_freeze_count() walks the whole frozen heap: asked only until it is frozen

    def time_collection(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif frozen[0] or gc.get_freeze_count():
            frozen[0] = True
            pauses.append((time.perf_counter() - started[0]) * 1000.0)

    def write() -> None:
        written = path.with_suffix(".json.tmp")
        while True:
            time.sleep(every_s)
            written.write_text(json.dumps(pauses))
            written.replace(path)  # whole, so the benchmark never reads a file half written

    gc.callbacks.append(time_collection)
    threading.Thread(target=write, name="bench-gc-pauses", daemon=True).start()


def gc_pauses(data_dir: str, pid: int) -> tuple[list[float], list[float]]:
    """The collection pauses `record_gc_pauses` wrote: of the serving process `pid`, and of all the others."""
    serving: list[float] = []
    others: list[float] = []
    for path in Path(data_dir).glob("gc-pauses-*.json"):
        pauses = json.loads(path.read_text() or "[]")
        (serving if path.stem == f"gc-pauses-{pid}" else others).extend(pauses)
    return serving, others


def serve(port: int, workers: int) -> None:
    """The server: `deskbot serve`'s own `HttpServer`, its processes building `worker_runtime()`."""
    from adapters.http import HttpServer

    HttpServer(worker_runtime().adapter_context()).run(host="127.0.0.1", port=port, workers=workers)


def event_ts(index: int) -> str:
    """The Slack `ts` of event `index`: the bot replies in its thread."""
    return f"{1_700_000_000 + index}.{index % 1_000_000:06d}"


def event_payload(index: int, from_bot: bool = False) -> bytes:
    ts = event_ts(index)
    payload: dict[str, Any] = {
        "token": "benchmark",
        "team_id": "T0BENCH",
        "api_app_id": "A0BENCH",
        "type": "event_callback",
        "event_id": f"EvBench{index:06d}",
        "event_time": 1_700_000_000 + index,
        "authorizations": [{"team_id": "T0BENCH", "user_id": "U0BOT", "is_bot": True}],
        "event": {
            "type": "app_mention",
            "user": f"U{index % 500:05d}",
            "text": "<@U0BOT> How do I reset my Nimbus Thermo?",
            "ts": ts,
            "channel": "C0BENCH",
            "event_ts": ts,
        },
    }
    if from_bot:  # the bot's own message: verified, parsed and ignored (the acknowledgement path alone)
        payload["event"].update(type="message", user="U0BOT", bot_id="B0BOT", channel_type="channel")
    return json.dumps(payload).encode()


def api_key(env: dict[str, str], data_dir: str) -> str:
    """A key for the chat API, created with `deskbot keys create` in the server's database."""
    created = subprocess.run(
        [sys.executable, "-m", "bot", "keys", "create", "benchmark"],
        env=env,
        cwd=data_dir,
        capture_output=True,
        text=True,
        check=True,
    )
    return created.stdout.strip()


def signed_headers(verifier: SignatureVerifier, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = verifier.generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def server_processes(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time of the serving process (uvicorn; with `--workers 1` it acknowledges too) and of its children (the
    answer processes, and the HTTP workers when there are several)."""
    parent, *children = server_processes(pid)
    times = [float(p.cpu_times().user + p.cpu_times().system) for p in (parent, *children)]
    return times[0], sum(times[1:])


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes."""
    return sum(float(p.memory_info().rss) for p in server_processes(pid)) / (1024 * 1024)


async def wait_ready(client: httpx.AsyncClient, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.25)
    raise SystemExit("the server did not become ready")


async def drain(fake: Any, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while len(fake.calls_to("chat.postMessage")) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # let any extra (duplicate) reply arrive


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from adapters.http.slack.fake_web_api import FakeSlackWebApi

    fake = await FakeSlackWebApi().start()
    port = args.port
    data_dir = tempfile.mkdtemp(prefix="deskbot-bench-")
    env = {
        **os.environ,
        "XDG_CACHE_HOME": data_dir,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "benchmarks")]),
        "DESKBOT_SERVE_RUNTIME": "webhooks:worker_runtime",
        "DESKBOT_SERVER__ANSWER_PROCESSES": str(args.answer_processes),
        "DESKBOT_SERVER__ANSWER_CONCURRENCY": str(args.answer_concurrency),
        "DESKBOT_SERVER__MAX_IN_FLIGHT": str(args.max_in_flight),
        "DESKBOT_SERVER__MAX_LOOP_LAG_MS": str(args.max_loop_lag_ms),
        "DESKBOT_SERVER__CHAT_TURNS_PER_ANSWER_PROCESS": str(args.chat_places),
        "DESKBOT_SERVER__CHAT_QUEUE": str(args.chat_queue),
        # overload is measured, not the rate limits: one key and one customer send all the chats
        "DESKBOT_SERVER__API_RATE_LIMIT_REQUESTS": "1000000",
        "DESKBOT_GUARD__RATE_LIMIT_MESSAGES": "1000000",
        "BENCH_LLM_DELAY": str(args.llm_delay),
        "DESKBOT_DATA_DIR": data_dir,
        "DESKBOT_KNOWLEDGE__EMBEDDER": "hash",
        "DESKBOT_KNOWLEDGE__EMBEDDER_MODEL": "hash-256",
        "DESKBOT_LLM__BACKEND": "fake",
        "DESKBOT_ANSWER__MIN_SCORE": "0.1",
        "DESKBOT_SLACK__SIGNING_SECRET": SECRET,
        "DESKBOT_SLACK__BOT_TOKEN": "xoxb-benchmark",
        "DESKBOT_SLACK__API_URL": fake.api_url,
    }
    command = [sys.executable, __file__, "--serve", "--workers", str(args.workers), "--port", str(port)]
    server_log = open(Path(data_dir) / "server.log", "w")  # noqa: SIM115
    key = api_key(env, data_dir) if args.chat_rate else ""
    server = subprocess.Popen(command, env=env, cwd=data_dir, stderr=server_log, stdout=server_log)
    chat_latencies: dict[int, list[float]] = {}
    chat_failures = 0
    verifier = SignatureVerifier(SECRET)
    latencies: list[float] = []  # of the 200s
    shed_latencies: list[float] = []  # of the 503s
    acknowledged: set[int] = set()
    sent_at: dict[str, float] = {}  # thread ts of each event -> when it was first sent (time.monotonic)
    statuses: dict[int, int] = {}
    failures = 0
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as probe:
            await wait_ready(probe)
        connector = aiohttp.TCPConnector(limit=256)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:

            async def send(index: int, at: float, retry: bool = False) -> None:
                nonlocal failures
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                body = event_payload(index, from_bot=args.ack_only)
                headers = signed_headers(verifier, body)
                if retry:
                    headers["X-Slack-Retry-Num"] = "1"
                    headers["X-Slack-Retry-Reason"] = "http_timeout"
                started = time.perf_counter()
                sent_at.setdefault(event_ts(index), time.monotonic())
                try:
                    async with client.post("/slack/events", data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    failures += 1
                    return
                elapsed_ms = (time.perf_counter() - started) * 1000.0
                if status == 200:
                    latencies.append(elapsed_ms)
                    acknowledged.add(index)
                elif status == 503:
                    shed_latencies.append(elapsed_ms)
                statuses[status] = statuses.get(status, 0) + 1

            async def burst(first: int, count: int) -> float:
                started = time.perf_counter()
                tasks = []
                for offset in range(count):
                    index = first + offset
                    at = started + offset / args.rate
                    tasks.append(asyncio.create_task(send(index, at)))
                    if args.duplicate_every and index % args.duplicate_every == 0:
                        tasks.append(asyncio.create_task(send(index, at + 0.1, retry=True)))
                await asyncio.gather(*tasks)
                return time.perf_counter() - started

            async def chat(chats: aiohttp.ClientSession, at: float) -> None:
                nonlocal chat_failures
                await asyncio.sleep(max(0.0, at - time.perf_counter()))
                started = time.perf_counter()
                question = {"message": "How do I reset my Nimbus Thermo?"}
                try:
                    async with chats.post("/v1/chat", json=question, headers={"Authorization": f"Bearer {key}"}) as r:
                        await r.read()
                        status = r.status
                except (aiohttp.ClientError, TimeoutError):
                    chat_failures += 1
                    return
                chat_latencies.setdefault(status, []).append((time.perf_counter() - started) * 1000.0)

            async def chat_flood(duration_s: float) -> None:
                if not args.chat_rate:
                    return
                chat_connector = aiohttp.TCPConnector(limit=2000)
                async with aiohttp.ClientSession(base, connector=chat_connector, timeout=timeout) as chats:
                    started = time.perf_counter()
                    count = int(duration_s * args.chat_rate)
                    await asyncio.gather(*(chat(chats, started + n / args.chat_rate) for n in range(count)))

            warm = min(1000, args.events)
            await burst(0, warm)
            await drain(fake, 0 if args.ack_only else len(acknowledged), args.llm_delay * 5 + 30)
            rss_warm = rss_mb(server.pid)
            cpu_warm = cpu_seconds(server.pid)
            flood = asyncio.create_task(chat_flood((args.events - warm) / args.rate))
            elapsed = await burst(warm, args.events - warm)
            await flood
            await drain(fake, 0 if args.ack_only else len(acknowledged), args.llm_delay * 5 + 60)
            rss_end = rss_mb(server.pid)
            cpu_end = cpu_seconds(server.pid)
            measured = max(1, args.events - warm)
            cpu_per_event_ms = [1000.0 * (end - start) / measured for start, end in zip(cpu_warm, cpu_end, strict=True)]
            async with client.get("/metrics") as response:
                metrics = await response.text()
            await asyncio.sleep(1.5)  # the last collection pauses are written
            serving_gc, answering_gc = gc_pauses(data_dir, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()
        await fake.stop()
    replies = fake.calls_to("chat.postMessage")
    per_thread: dict[str, int] = {}
    for call in replies:
        thread = str(call.params.get("thread_ts"))
        per_thread[thread] = per_thread.get(thread, 0) + 1
    reply_delays = [call.received_at - sent_at[str(call.params.get("thread_ts"))] for call in replies]
    duplicates_sent = sum(1 for i in range(args.events) if args.duplicate_every and i % args.duplicate_every == 0)
    sent_after_warm = args.events - min(1000, args.events)
    return {
        "events": args.events,
        "retries_sent": duplicates_sent,
        "rate_target": args.rate,
        "rate_achieved": round(sent_after_warm / elapsed, 1) if sent_after_warm else None,
        "llm_delay_s": args.llm_delay,
        "server_workers": args.workers,
        "answer_processes": args.answer_processes,
        "answer_concurrency": args.answer_concurrency,
        "max_in_flight": args.max_in_flight,
        "max_loop_lag_ms": args.max_loop_lag_ms,
        "chat_places": args.chat_places,
        "chat_queue": args.chat_queue,
        "ack_p50_ms": round(statistics.median(latencies), 1),
        "ack_p95_ms": round(percentile(latencies, 0.95), 1),
        "ack_p99_ms": round(percentile(latencies, 0.99), 1),
        "ack_max_ms": round(max(latencies), 1),
        "non_200_acks": sum(n for status, n in statuses.items() if status != 200) + failures,
        "ack_statuses": ",".join(f"{status}:{n}" for status, n in sorted(statuses.items())) + f",failed:{failures}",
        "shed_503": len(shed_latencies),
        "shed_p50_ms": round(statistics.median(shed_latencies), 1) if shed_latencies else None,
        "shed_p99_ms": round(percentile(shed_latencies, 0.99), 1) if shed_latencies else None,
        "shed_max_ms": round(max(shed_latencies), 1) if shed_latencies else None,
        **chat_results(chat_latencies, chat_failures, args.chat_rate),
        "unanswered_events": 0 if args.ack_only else len({event_ts(i) for i in acknowledged} - set(per_thread)),
        "replies": len(replies),
        "events_answered_twice": sum(1 for n in per_thread.values() if n > 1),
        "reply_after_p50_s": round(statistics.median(reply_delays), 2) if reply_delays else None,
        "reply_after_p99_s": round(percentile(reply_delays, 0.99), 2) if reply_delays else None,
        "rss_after_1k_mb": round(rss_warm, 1),
        "rss_after_all_mb": round(rss_end, 1),
        "rss_growth_pct": round(100.0 * (rss_end - rss_warm) / rss_warm, 1),
        "server_cpu_ms_per_event": round(sum(cpu_per_event_ms), 2),
        "serving_process_cpu_ms_per_event": round(cpu_per_event_ms[0], 2),
        "child_processes_cpu_ms_per_event": round(cpu_per_event_ms[1], 2),
        "server_acks_within_50ms_pct": _share_within(metrics, "/slack/events", "0.05"),
        "serving_gc_pauses": len(serving_gc),
        "serving_gc_pause_p99_ms": round(percentile(serving_gc, 0.99), 1) if serving_gc else None,
        "serving_gc_pause_max_ms": round(max(serving_gc), 1) if serving_gc else None,
        "child_processes_gc_pause_max_ms": round(max(answering_gc), 1) if answering_gc else None,
        "server_duplicates_counted": _metric(metrics, 'deskbot_duplicate_deliveries_total{source="slack"}'),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "cpu_cores": os.cpu_count(),
        "server_log": str(Path(data_dir) / "server.log"),
    }


def chat_results(latencies: dict[int, list[float]], failures: int, rate: float) -> dict[str, Any]:
    if not rate:
        return {}
    answered, shed = latencies.get(200, []), latencies.get(503, [])
    return {
        "chat_rate": rate,
        "chat_200": len(answered),
        "chat_503": len(shed),
        "chat_other": sum(len(values) for status, values in latencies.items() if status not in (200, 503)) + failures,
        "chat_p50_ms": round(statistics.median(answered), 1) if answered else None,
        "chat_p99_ms": round(percentile(answered, 0.99), 1) if answered else None,
        "chat_shed_p50_ms": round(statistics.median(shed), 1) if shed else None,
        "chat_shed_p99_ms": round(percentile(shed, 0.99), 1) if shed else None,
    }


def _share_within(text: str, route: str, bucket: str) -> float | None:
    """Percentage of the server's own acknowledgement times within `bucket` seconds (from its histogram)."""
    within = _metric(text, f'deskbot_http_request_duration_seconds_bucket{{le="{bucket}",route="{route}"}}')
    total = _metric(text, f'deskbot_http_request_duration_seconds_count{{route="{route}"}}')
    return round(100.0 * within / total, 2) if within is not None and total else None


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def main() -> None:
    from adapters.http.settings import ServerSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="Events per second (default 200).")
    parser.add_argument("--events", type=int, default=10_000, help="Events to send (default 10,000).")
    parser.add_argument("--llm-delay", type=float, default=2.0, help="Seconds the fake LLM takes (default 2).")
    parser.add_argument("--duplicate-every", type=int, default=20, help="Re-send every n-th event as a retry.")
    parser.add_argument("--port", type=int, default=18780)
    parser.add_argument("--ack-only", action="store_true", help="Send the bot's own messages: acknowledged, ignored.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help="HTTP worker processes (default 1).")
    parser.add_argument(
        "--answer-processes", type=int, default=1, help="Answer processes (default 1; 0: in the HTTP ones)."
    )
    parser.add_argument(
        "--answer-concurrency",
        type=int,
        default=ServerSettings().answer_concurrency,
        help="Deliveries each answer process handles at once (default: Deskbot's).",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=ServerSettings().max_in_flight,
        help="Requests the server takes at once before it sheds with 503 (default: Deskbot's).",
    )
    parser.add_argument("--chat-rate", type=float, default=0.0, help="Also send /v1/chat requests at this rate.")
    parser.add_argument(
        "--chat-places",
        type=int,
        default=ServerSettings().chat_turns_per_answer_process,
        help="Chat turns each answer process takes at once (default: Deskbot's).",
    )
    parser.add_argument(
        "--chat-queue",
        type=int,
        default=ServerSettings().chat_queue,
        help="Chat turns that may wait for a place (default: Deskbot's; 0: refuse at once when all are taken).",
    )
    parser.add_argument(
        "--max-loop-lag-ms",
        type=float,
        default=ServerSettings().max_loop_lag_ms,
        help="Shed the chat lanes while the serving event loop is this far behind (default: Deskbot's; 0: off).",
    )
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.workers)
        return
    if not 0 < args.events <= MAX_EVENTS or not 0 < args.rate <= 1000:
        parser.error(f"--events must be 1..{MAX_EVENTS} and --rate 1..1000")

    async def bounded() -> dict[str, Any]:
        return await asyncio.wait_for(run(args), MAX_SECONDS)

    result = asyncio.run(bounded())
    if args.json:
        print(json.dumps(result))
        return
    width = max(len(key) for key in result)
    print(f"{'metric':<{width}}  value")
    print(f"{'-' * width}  -----")
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
