"""Folders that never hold a manual's sources: build output, templates, dependencies.

>>> "node_modules" in SKIP_DIRS and "_build" in SKIP_DIRS
True
"""
SKIP_DIRS = frozenset({"node_modules", "_build", "site", "build", "__pycache__", "_templates", "_static", "overrides"})
