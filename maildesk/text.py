"""Comparing words the way people write them: one folding for every matcher (pure)."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case-folded without accents, so "Filtración" matches "filtracion" and "Ñ" matches "n"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
