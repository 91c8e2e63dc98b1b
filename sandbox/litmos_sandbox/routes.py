"""Which API path is which endpoint: the route table, built from the specs (``spec.py``).

WCF matches URI templates case-insensitively and tolerates a trailing slash; ``{Name}``
parts of a spec's path are path parameters.
"""

from __future__ import annotations

import re

from litmos_sandbox import spec as S  # noqa: N812

API_PREFIX = "/v1.svc"
ACHIEVEMENTS_PATH = API_PREFIX + "/achievements"

#: (path regex, spec, ILT side) for every list endpoint but achievements. The side is
#: True for /sessions/past, False for /sessions/future, None elsewhere.
Route = tuple[re.Pattern[str], S.Endpoint, bool | None]


def _route_table() -> list[Route]:
    out: list[Route] = []
    for ep in S.ENDPOINTS.values():
        if ep.family in ("snapshot", "org", "child"):
            pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(ep.path))
            out.append((re.compile(re.escape(API_PREFIX) + pattern, re.IGNORECASE), ep, None))
    for side in ("past", "future"):
        out.append(
            (
                re.compile(re.escape(f"{API_PREFIX}/sessions/{side}"), re.IGNORECASE),
                S.SESSION_COURSE,
                side == "past",
            )
        )
    return out


ROUTES: list[Route] = _route_table()


def stream_name(endpoint: str) -> str:
    """A stream name from a stream name or an API path (``/achievements``)."""
    if endpoint in S.ENDPOINTS or endpoint == "ilt_tree":
        return endpoint
    text = endpoint.strip().rstrip("/")
    if not text.lower().startswith(API_PREFIX):
        text = API_PREFIX + "/" + text.lstrip("/")
    if text.lower() == ACHIEVEMENTS_PATH:
        return "achievements"
    for pattern, ep, _ in ROUTES:
        if pattern.fullmatch(text):
            return ep.stream
    msg = f"unknown stream or path {endpoint!r}"
    raise ValueError(msg)


def forbidden_streams(names: object) -> tuple[str, ...]:
    """Stream names (or API paths) this key may not read, as stream names."""
    if isinstance(names, str):
        names = [names]
    streams = (stream_name(str(name)) for name in names)  # type: ignore[attr-defined]
    return tuple("ilt_sessions" if s == "ilt_tree" else s for s in streams)
