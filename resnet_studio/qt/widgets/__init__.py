"""Reusable widgets of the main window."""
