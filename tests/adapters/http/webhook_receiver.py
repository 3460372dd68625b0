"""`Receiver`: a loopback HTTP endpoint for webhook tests (outgoing announcements, handoff notices)."""

from aiohttp import web


class Receiver:
    """A loopback HTTP endpoint that records deliveries and answers with scripted statuses."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.deliveries = []
        self.runner = None
        self.url = ""

    async def handle(self, request):
        self.deliveries.append((dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status)

    async def __aenter__(self):
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"
        return self

    async def __aexit__(self, *_exc):
        await self.runner.cleanup()
