"""How much one mail may expand into: parts, nesting, files and decoded bytes.

A hostile mail is small on the wire and huge once read (a winmail.dat of 100,000
files, thousands of nested parts); the walk keeps what fits these bounds and
records a "truncated: ..." defect for the rest, so reading it can never hang.
"""

from __future__ import annotations

from dataclasses import dataclass

from maildesk.config_schema import default

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """The bounds of one mail's walk (`[limits]` in the configuration)."""

    parts: int = default("limits", "parts")
    depth: int = default("limits", "depth")
    files: int = default("limits", "files")
    decoded_bytes: int = default("limits", "decoded_mb") * MB
