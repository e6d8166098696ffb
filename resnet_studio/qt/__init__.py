"""The desktop GUI (PySide6)."""
