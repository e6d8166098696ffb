"""The image files the user opened this session, shared by the tabs that explain images (Images,
Attributions): an image opened in one is offered by the other without opening it again.

Plain Python in the window's `TabContext` (not a Qt global); remembered for the session only.
Listeners are held weakly (a closed tab's bound method is dropped) and are called on the
thread that adds, which for the tabs is the GUI thread.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

MAX_IMAGES = 200  # the oldest are forgotten beyond this


class SharedImages:
    def __init__(self) -> None:
        self._paths: list[str] = []
        self._listeners: list[weakref.WeakMethod | weakref.ref] = []

    def paths(self) -> list[str]:
        """Oldest first."""
        return list(self._paths)

    def add(self, paths: Iterable[str | Path]) -> list[str]:
        """Image files (not folders); returns those that were new. Listeners hear of them."""
        new = []
        for p in paths:
            text = str(Path(p).expanduser().resolve())
            if text and text not in self._paths and text not in new:
                new.append(text)
        if not new:
            return []
        self._paths = (self._paths + new)[-MAX_IMAGES:]
        for listener in list(self._listeners):
            fn = listener()
            try:
                if fn is not None:
                    fn(new)
                    continue
            except RuntimeError:  # a Qt widget deleted while its Python wrapper lives on
                pass
            self._listeners.remove(listener)
        return new

    def subscribe(self, fn: Callable[[list[str]], None]) -> None:
        """`fn(new_paths)` after each add; a bound method is held weakly."""
        ref = weakref.WeakMethod(fn) if hasattr(fn, "__self__") else weakref.ref(fn)
        self._listeners.append(ref)
