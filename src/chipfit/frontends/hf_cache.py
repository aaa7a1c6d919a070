"""Hugging Face model ids (``Qwen/Qwen3-8B``) found in the local Hugging Face cache.

Nothing is downloaded: an id resolves only to a ``config.json`` some earlier download left in
the cache (``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``), in
the layout ``huggingface_hub`` writes: ``models--ORG--NAME/snapshots/<commit>/config.json``, the
commit that ``refs/main`` names first.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: ORG/NAME as the Hub spells repository ids
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def hub_cache() -> Path:
    """The folder ``huggingface_hub`` caches downloads in."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or str(Path.home() / ".cache" / "huggingface")
    return Path(home).expanduser() / "hub"


def is_hub_id(text: str) -> bool:
    return bool(_ID.match(text)) and ".." not in text


def cached_config(text: str) -> Path | None:
    """The cached ``config.json`` of the Hub id ``text``, or None (not an id, or not cached)."""
    if not is_hub_id(text):
        return None
    org, name = text.split("/")
    repo = hub_cache() / f"models--{org}--{name}"
    snapshots = repo / "snapshots"
    try:
        if not snapshots.is_dir():
            return None
        ref = repo / "refs" / "main"
        commit = ref.read_text(encoding="utf-8").strip() if ref.is_file() else ""
        if re.fullmatch(r"[0-9a-f]{6,64}", commit) and (snapshots / commit / "config.json").is_file():
            return snapshots / commit / "config.json"
        found = sorted((p for p in snapshots.glob("*/config.json") if p.is_file()),
                       key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    return found[0] if found else None
