"""The browser client, served by the gateway: the page, its files, and the Socket.IO client.

- ``GET /`` → ``web/public/index.html``, with a Content-Security-Policy that allows scripts
  from this origin only and connections to this origin and the auth service;
- ``GET /static/...`` → the rest of ``web/public`` (plain ES modules and CSS, no build step);
- ``GET /favicon.ico`` → ``web/public/favicon.ico`` (the page links its SVG icon);
- ``GET /vendor/socket.io.esm.min.js`` → the official client, as npm installed it in
  ``web/node_modules`` (``./dev`` runs ``npm ci``); nothing is fetched from a CDN;
- ``GET /config.json`` → ``{auth_url}``: where the page registers, logs in and refreshes.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from gateway.typedefs import SETTINGS

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
PUBLIC = WEB_ROOT / "public"
SOCKET_IO_DIST = WEB_ROOT / "node_modules" / "socket.io-client" / "dist"
VENDOR_FILES = frozenset({"socket.io.esm.min.js", "socket.io.esm.min.js.map"})

web_routes = web.RouteTableDef()

# The files change with every deploy and are small: let the browser revalidate each time.
_FILE_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(auth_url: str, host: str) -> str:
    """Scripts and styles from this origin only: even injected markup could not run code.
    Sockets only to this host (``host``, as the browser named it), fetches only here and to
    the auth service, and no page may frame this one."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' ws://{host} wss://{host} {_origin(auth_url)}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _page_headers(request: web.Request) -> dict[str, str]:
    """What every file the browser gets carries, the page under any path it is served at."""
    policy = content_security_policy(request.app[SETTINGS].browser_auth_url, request.host)
    return {
        **_FILE_HEADERS,
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


@web_routes.get("/")
async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PUBLIC / "index.html", headers=_page_headers(request))


@web_routes.get("/config.json")
async def config(request: web.Request) -> web.Response:
    auth_url = request.app[SETTINGS].browser_auth_url.rstrip("/")
    return web.json_response({"auth_url": auth_url}, headers={"Cache-Control": "no-store"})


@web_routes.get("/favicon.ico")
async def favicon(request: web.Request) -> web.FileResponse:
    """Where browsers look for the icon whatever the page names: a 200, not a 404 per tab."""
    return web.FileResponse(PUBLIC / "favicon.ico", headers=_FILE_HEADERS)


@web_routes.get("/static/{path:.+}")
async def static_file(request: web.Request) -> web.FileResponse:
    path = (PUBLIC / request.match_info["path"]).resolve()
    if not path.is_relative_to(PUBLIC) or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers=_page_headers(request))


@web_routes.get("/vendor/{name}")
async def vendor_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in VENDOR_FILES:
        raise web.HTTPNotFound()
    path = SOCKET_IO_DIST / name
    if not path.is_file():
        # The gateway runs without the npm packages: say how to get them, not just 404.
        return web.Response(
            status=503, text="the Socket.IO client is not installed: run `npm ci` in web/"
        )
    return web.FileResponse(path, headers=_FILE_HEADERS)
