"""The daemon's own HTTP server: `/metrics` for Prometheus, `/healthz` (the process answers)
and `/readyz` (the daemon can do its job: database reachable, the accounts it serves bound or
tried). It listens on 127.0.0.1 by default (`metrics.listen`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dispatcher.metrics import Metrics


def build_app(
    metrics: Metrics,
    readiness: Callable[[], tuple[bool, str]],
    routes: Sequence[web.RouteDef] = (),
) -> web.Application:
    """The server's application; `routes` adds more (the provider callbacks, when they share
    this server)."""

    async def serve_metrics(request: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        ready, detail = readiness()
        return web.Response(status=200 if ready else 503, text=detail + "\n")

    app = web.Application()
    app.router.add_get("/metrics", serve_metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.add_routes(routes)
    return app


async def start_http_server(app: web.Application, listen: str) -> web.AppRunner:
    """Start serving on "host:port" (port 0 picks a free one); returns the runner to stop."""
    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host or "127.0.0.1", int(port))
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port actually listened on (after asking for port 0)."""
    for address in runner.addresses:
        return int(address[1])
    raise RuntimeError("the HTTP server is not listening")
