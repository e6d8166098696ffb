"""The window's remembered settings, one object handed to the main window and every tab.

`Settings(remember=False)` (screenshots, `gui --screenshot`, tests that must leave the user's
settings alone) never reads the user's saved values and never writes them: reads give the
default or what this session set, writes stay in memory.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QSettings


class Settings:
    def __init__(self, remember: bool = True):
        self.remember = remember
        self._memory: dict[str, Any] = {}
        self._store = QSettings() if remember else None

    def value(self, key: str, default: Any = None) -> Any:
        if key in self._memory:
            return self._memory[key]
        if self._store is None:
            return default
        return self._store.value(key, default)

    def set_value(self, key: str, value: Any) -> None:
        if self._store is None:
            self._memory[key] = value
        else:
            self._store.setValue(key, value)

    def text(self, key: str, default: str = "") -> str:
        value = self.value(key, default)
        return default if value is None else str(value)

    def string_list(self, key: str) -> list[str]:
        """QSettings gives a lone string for a one-item list, and None for an empty one."""
        value = self.value(key, [])
        return [value] if isinstance(value, str) else [str(v) for v in value or []]

    def json(self, key: str, default: Any = None) -> Any:
        """A value saved with set_json; the default if it is missing or not valid JSON."""
        text = self.value(key)
        if not text:
            return default
        try:
            return json.loads(str(text))
        except ValueError:
            return default

    def set_json(self, key: str, value: Any) -> None:
        self.set_value(key, json.dumps(value, separators=(",", ":")))

    def sync(self) -> None:
        if self._store is not None:
            self._store.sync()
