"""How fast signed DingTalk robot callbacks are acknowledged, and how soon every customer hears back.

Run: `.venv/bin/python -m bench.dingtalk` (`--messages 400 --concurrency 50`). `ticketbot serve` runs as a
subprocess with DingTalk on (HTTP callback mode, SQLite in a fresh directory, the console off), its OpenAPI and
the customers' sessionWebhooks pointed at a fake in a process of its own that answers at once. The load: N
customers (outsiders, each a 1:1 chat) each write one message, posted signed from C concurrent clients. Each
message opens a ticket, posts its triage card to the triage group and answers the customer through the chat's
sessionWebhook. Last line: `messages=… concurrency=… ack_p50_ms=… ack_p99_ms=… over_3s=… answered_s=…`
(answered_s: from the first post until every customer's answer reached the webhook).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from aiohttp import ClientSession, TCPConnector, web

from bench.ack import Server

HERE = Path(__file__).resolve().parent.parent
APP_KEY, SECRET = "dingbenchappkey", "bench-dingtalk-app-secret"
TRIAGE = "cidBenchTriage=="


def serve_fake() -> None:
    """The fake OpenAPI and sessionWebhooks; GET /answered says how many webhook messages came."""
    answered = {"count": 0}

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"accessToken": "TOKEN", "expireIn": 7200})

    async def api(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"processQueryKey": "pqk", "invalidStaffIdList": [], "flowControlledStaffIdList": []})

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        answered["count"] += 1
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def count(request: web.Request) -> web.Response:
        return web.json_response(answered)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", token)
        app.router.add_post("/hook/{key}", hook)
        app.router.add_get("/answered", count)
        app.router.add_route("*", "/v1.0/{path:.+}", api)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"fake listening on 127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def signed_headers() -> dict:
    timestamp = str(int(time.time() * 1000))
    digest = hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    return {"Content-Type": "application/json", "timestamp": timestamp, "sign": base64.b64encode(digest).decode()}


def message(n: int, fake: str) -> bytes:
    now = int(time.time() * 1000)
    sender = f"$:LWCP_v1:$benchCustomer{n:06d}"
    return json.dumps({"conversationId": f"cidSingle{n}", "chatbotCorpId": "dingcorp", "chatbotUserId": "$:robot",
                       "msgId": f"msgBENCH{n:08d}", "senderNick": f"客户{n}", "senderCorpId": "dingother",
                       "conversationType": "1", "senderId": sender, "sessionWebhookExpiredTime": now + 5_400_000,
                       "sessionWebhook": f"{fake}/hook/{n}", "createAt": now, "msgtype": "text",
                       "text": {"content": f"订单 {n} 的页面打不开"}}).encode()


async def load(port: int, fake: str, *, messages: int, concurrency: int) -> dict:
    url = f"http://127.0.0.1:{port}/dingtalk/callback"
    latencies: list[float] = []
    failures = 0
    queue = list(range(messages))
    started = time.perf_counter()
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:
        async def client() -> None:
            nonlocal failures
            while queue:
                n = queue.pop()
                begin = time.perf_counter()
                async with session.post(url, data=message(n, fake), headers=signed_headers()) as response:
                    await response.read()
                    failures += response.status != 200
                latencies.append(time.perf_counter() - begin)
        await asyncio.gather(*(client() for _ in range(concurrency)))
        while True:
            async with session.get(f"{fake}/answered") as response:
                if (await response.json())["count"] >= messages:
                    break
            if time.perf_counter() - started > 600:
                raise SystemExit("not every customer was answered within 10 minutes")
            await asyncio.sleep(0.2)
    answered = time.perf_counter() - started
    latencies.sort()
    return {"ack_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "ack_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
            "over_3s": failures + sum(latency > 3 for latency in latencies), "answered_s": round(answered, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        serve_fake()
        return
    fake = Server([sys.executable, "-m", "bench.dingtalk", "--serve-fake"], {**os.environ}, HERE)
    fake_url = f"http://127.0.0.1:{fake.wait_ready()}"
    workdir = tempfile.mkdtemp(prefix="bench-dingtalk-")
    config = Path(workdir, "ticketbot.yaml")
    sample = yaml.safe_load((HERE / "ticketbot.example.yaml").read_text(encoding="utf-8"))
    sample.setdefault("triage_channels", {})["dingtalk"] = TRIAGE
    config.write_text(yaml.safe_dump(sample, allow_unicode=True), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "WECOM_", "DINGTALK_"))}
    env.update({"DATABASE_URL": f"sqlite:///{workdir}/ticketbot.db", "CONSOLE_ENABLED": "false",
                "TICKETBOT_CONFIG": str(config), "DINGTALK_APP_KEY": APP_KEY, "DINGTALK_APP_SECRET": SECRET,
                "DINGTALK_API_BASE_URL": fake_url, "DINGTALK_OAPI_BASE_URL": fake_url})
    bot = Server([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", "0"], env, HERE)
    try:
        port = bot.wait_ready()
        figures = asyncio.run(load(port, fake_url, messages=args.messages, concurrency=args.concurrency))
    finally:
        bot.stop()
        fake.stop()
    print(" ".join(f"{key}={value}" for key, value in
                   {"messages": args.messages, "concurrency": args.concurrency, **figures}.items()))


if __name__ == "__main__":
    main()
