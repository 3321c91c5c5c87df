"""How the gateway's WebSockets are framed.

Socket.IO events are small JSON texts sent to many sockets at once: compressing each frame
(permessage-deflate, which browsers and Node's ``ws`` offer by default) cost the gateway a third
of its CPU under load (measured with py-spy at 300 messages/s to groups of 10) to save a few
hundred bytes a frame. Socket.IO's own Node server turns it off by default for the same reason.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

EXTENSIONS = "Sec-WebSocket-Extensions"


def websocket_compression(enabled: bool) -> Middleware:
    """A middleware that declines the client's WebSocket compression offer unless ``enabled``:
    with the offer taken out of the upgrade request, aiohttp answers with plain frames."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not enabled and EXTENSIONS in request.headers:
            headers = request.headers.copy()
            del headers[EXTENSIONS]
            request = request.clone(headers=headers)
        return await handler(request)

    return middleware
