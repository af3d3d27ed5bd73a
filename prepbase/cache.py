"""A small in-process cache of values worth keeping for a few seconds.

Admin → Reports keeps its rendered results here: computing them for a large business
takes tens of milliseconds of aggregate SQL, and a report a minute old is as good to an
owner. It holds no state that matters: a miss recomputes, entries expire, and the oldest
stored is dropped first once it is full. Callers put whatever must not leak into the key
(the business, its time zone, the filters); nothing kept may belong to one user.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")
Key = tuple[Hashable, ...]


class TimedCache:
    """Values by key, each kept for the seconds it was stored with (bounded, thread-safe)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.entries: OrderedDict[Key, tuple[float, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Key) -> Any:
        """The value stored for `key`, or None when there is none or it has expired."""
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[0] < time.monotonic():
                return None
            return found[1]

    def put(self, key: Key, value: Any, seconds: int) -> None:
        """Keep `value` for `seconds`; the least recently stored goes when full."""
        with self.lock:
            self.entries[key] = (time.monotonic() + seconds, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def kept(self, key: Key, build: Callable[[], T], seconds: int) -> T:
        """`build()`, or what it gave for `key` less than `seconds` ago (0: always build)."""
        if seconds <= 0:
            return build()
        found = self.get(key)
        if found is not None:
            return cast("T", found)
        value = build()
        self.put(key, value, seconds)
        return value
