"""``GET /panel``: the central control panel (中控屏) page and its assets, under a strict CSP.

The panel is plain ES modules and CSS in ``bot/gateway/panel/``: no build step, no CDN, nothing
fetched from anywhere but this gateway. Modules the panel shares with the designer studio (API calls,
DOM helpers, the microphone) are in ``bot/gateway/shared/``, served at ``/shared/`` under the same CSP.
"""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from bot.errors import NotFoundError

table = web.RouteTableDef()

PANEL_DIR = Path(__file__).resolve().parent / "panel"
SHARED_DIR = Path(__file__).resolve().parent / "shared"
_ASSET = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(js|css|svg|html)$")
_TYPES = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml", "html": "text/html"}

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
"""No inline script or style, no other origin: the panel runs only code this gateway serves."""


@table.get("/panel")
async def panel(request: web.Request) -> web.FileResponse:
    """The panel page."""
    return _file(PANEL_DIR / "index.html", "text/html")


@table.get("/panel/{name}")
async def panel_asset(request: web.Request) -> web.FileResponse:
    """A panel asset by plain file name (no paths)."""
    return serve_asset(PANEL_DIR, request.match_info["name"])


@table.get("/shared/{name}")
async def shared_asset(request: web.Request) -> web.FileResponse:
    """A module the panel and the studio share, by plain file name."""
    return serve_asset(SHARED_DIR, request.match_info["name"])


def serve_asset(folder: Path, name: str) -> web.FileResponse:
    """A file of ``folder`` by plain name (no paths; scripts, styles, images and pages only)."""
    match = _ASSET.match(name)
    if match is None or not (folder / name).is_file():
        raise NotFoundError("没有这个文件", code="not_found")
    return _file(folder / name, _TYPES[match.group(1)])


def _file(path: Path, content_type: str) -> web.FileResponse:
    response = web.FileResponse(path, headers={"Content-Type": f"{content_type}; charset=utf-8"})
    response.headers["Cache-Control"] = "no-cache"
    return response


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every response carries (``on_response_prepare``)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("Permissions-Policy", "microphone=(self), camera=(), geolocation=()")
