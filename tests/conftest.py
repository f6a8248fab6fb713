"""Shared fixtures: real servers (tests/servers.py) and both databases."""

from __future__ import annotations

pytest_plugins = ["tests.servers"]
