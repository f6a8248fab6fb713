"""The words of a text as the search index sees them, and the queries built from them (pure).

Both databases compare folded words (lower case, no accents: `text.fold`), so "ascénsor"
finds "ascensor" whether or not PostgreSQL has `unaccent`. SQLite's FTS5 has no Spanish
stemmer, so the SQLite index holds Snowball stems and is queried with stems; PostgreSQL
stems with its own `spanish`/`english` configurations. A resident's mail is a question,
not a list of required words: the query is any of its meaningful words (OR), ranked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

from maildesk.text import fold

if TYPE_CHECKING:
    import snowballstemmer

LANGUAGES: Mapping[str, str] = MappingProxyType({"es": "spanish", "en": "english"})
"""The article languages, each with its stemmer's name (also PostgreSQL's configuration)."""

QUERY_WORDS = 32
"""Words of a request a query uses: its subject and first lines say what it is about."""

_WORD = re.compile(r"[a-z0-9]+")


def _listed(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say nothing about a request's subject, folded: a query of only these is none.
STOPWORDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "es": _listed(
            """a al algo como con cual cuando de del desde donde el ella ellos en entre era
            es esa ese eso esta estan este esto estoy favor gracias ha hay hola la las le
            les lo los me mas mi mis muy nada ni no nos o os para pero por porque que se
            ser si sin sobre su sus tambien te tengo tiene todo tu un una uno unos y ya yo
            buenas buenos dias tardes noches saludos"""
        ),
        "en": _listed(
            """a about all am an and any are as at be been but by can could do does for
            from has have hello hi how i if in is it its me my no not of on or our please
            so thanks thank that the their there this to us was we were what when where
            which who will with would you your regards dear"""
        ),
    }
)


def words(text: str) -> list[str]:
    """Every folded word of `text`, in order ("Ñandú" is "nandu")."""
    return _WORD.findall(fold(text))


@cache
def _stemmer(language: str) -> snowballstemmer.Stemmer:
    # Imported at the first stem: the package loads every language's stemmer (2.8 MB),
    # which an idle daemon, or a desk without articles, never uses.
    import snowballstemmer

    return snowballstemmer.stemmer(LANGUAGES.get(language, "spanish"))


@lru_cache(maxsize=100_000)
def _stem(language: str, word: str) -> str:
    """One word's stem, remembered: the pure-Python stemmer costs more than a lookup, and
    articles repeat their words (1,000 articles synced in 12 s without, 1.1 s with)."""
    return str(_stemmer(language).stemWord(word))


def stems(language: str, found: list[str]) -> list[str]:
    """Snowball stems of folded words ("ascensores" and "ascensor" are both "ascensor")."""
    return [_stem(language, word) for word in found]


def indexed(language: str, text: str) -> str:
    """What SQLite's index holds for `text`: its stems, space-separated."""
    return " ".join(stems(language, words(text)))


def query_words(language: str, text: str, limit: int = QUERY_WORDS) -> list[str]:
    """The distinct meaningful words of a request, first ones first, at most `limit`."""
    stop = STOPWORDS.get(language, frozenset())
    chosen = dict.fromkeys(w for w in words(text) if len(w) > 1 and w not in stop)
    return list(chosen)[:limit]


def fts5_query(language: str, found: list[str]) -> str:
    """An FTS5 MATCH expression: any of the words' stems ("" when there are none)."""
    return " OR ".join(f'"{stem}"' for stem in dict.fromkeys(stems(language, found)))


def tsquery(found: list[str]) -> str:
    """A `to_tsquery` text: any of the words (folded words hold no operator characters)."""
    return " | ".join(found)
