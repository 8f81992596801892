"""On-disk cache of decoded tensors, so a second run of a real-data task starts at once.

Entries are keyed by a hash of everything that determines their content (the data's
identity from tasks/source.py, subsample sizes, seeds, preprocessing version) and written
atomically. Every real-data domain uses this one cache, each under its own namespace.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def cache_root() -> Path:
    return Path(os.environ.get("GROKBENCH_CACHE", Path.home() / ".cache" / "grokbench"))


def file_identity(path: str | Path) -> dict[str, Any]:
    """Cheap identity of a source file: resolved path, size, modification time."""
    path = Path(path).resolve()
    stat = path.stat()
    return {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def cached(namespace: str, key: dict[str, Any], build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Return `build()`'s dict of tensors (and plain values), from the cache when it is there."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = cache_root() / namespace / f"{digest}.pt"
    if path.exists():
        try:
            return torch.load(path, weights_only=False)
        except Exception:  # noqa: BLE001 - a truncated or stale entry is rebuilt, never trusted
            path.unlink(missing_ok=True)
    value = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save(value, tmp)
    os.replace(tmp, path)
    return value
