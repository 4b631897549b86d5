"""`smpp-dispatcher provider-sim NAME`: run one fake provider API for staging.

Each fake follows its provider's spec (request formats, responses, error codes, status
progressions) and comes with a demo account; point a provider's `base_url` at it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import sys

from aiohttp import web

# name -> module with build_app(**options) -> aiohttp.web.Application
FAKES = {
    "devino-hlr": "dispatcher.provider_sim.devino_hlr",
    "devino-rest": "dispatcher.provider_sim.devino_rest",
    "devino-soap": "dispatcher.provider_sim.devino_soap",
    "devino-viber": "dispatcher.provider_sim.devino_viber",
    "devino-xml": "dispatcher.provider_sim.devino_xml",
    "mobipace": "dispatcher.provider_sim.mobipace",
    "webcom": "dispatcher.provider_sim.webcom",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=sorted(FAKES), help="which provider API to fake")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app: web.Application = importlib.import_module(FAKES[args.name]).build_app()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = runner.addresses[0][1]
    print(f"{args.name} fake listening on http://{args.host}:{port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def run(args: argparse.Namespace) -> int:
    try:
        asyncio.run(_serve(args))
    except OSError as exc:
        print(f"provider-sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
