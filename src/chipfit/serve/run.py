"""Run the web app: refuse a non-loopback address unless asked, then hand over to uvicorn."""

from __future__ import annotations

import ipaddress
import sys

from chipfit.core.errors import ChipfitError
from chipfit.serve import require

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) is this machine only: 127.0.0.0/8, ::1, localhost."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> list[str] | None:
    """The Host header names a loopback server answers (None: any, for a remote one)."""
    if not is_loopback(host):
        return None
    return sorted({host.strip().strip("[]").lower(), "localhost", "127.0.0.1", "::1"})


def check_host(host: str, allow_remote: bool) -> str | None:
    """The warning to print for a non-loopback ``host``, or None; refuses one without ``allow_remote``."""
    if is_loopback(host):
        return None
    if not allow_remote:
        raise ChipfitError(f"`host` {host} is reachable from other machines: pass `allow_remote` to serve "
                           f"there (the server has no authentication), or keep the default 127.0.0.1")
    return (f"warning: serving on {host}: anyone who can reach this machine can use this server and upload "
            f"files to it; it has no authentication")


def url(host: str, port: int) -> str:
    name = host.strip("[]")
    return f"http://[{name}]:{port}/" if ":" in name else f"http://{name}:{port}/"


def serve(host: str = "127.0.0.1", port: int = 8000, *, allow_remote: bool = False,
          max_upload_bytes: int = 1 << 30, log_level: str = "info") -> None:
    """Serve the app until interrupted."""
    warning = check_host(host, allow_remote)
    if not 0 < port < 65536:
        raise ChipfitError(f"`port` must be between 1 and 65535, got {port}")
    if max_upload_bytes < 1:
        raise ChipfitError("`max_upload_mb` must be positive")
    require()
    import uvicorn

    from chipfit.serve.app import create_app

    app = create_app(max_upload_bytes, allowed_hosts=allowed_hosts(host))
    if warning:
        print(f"chipfit: {warning}", file=sys.stderr, flush=True)
    print(f"chipfit serve: open {url(host, port)} (uploads up to {max_upload_bytes / (1 << 20):,.4g} MiB; "
          f"Ctrl+C stops)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host.strip("[]"), port=port, log_level=log_level)
