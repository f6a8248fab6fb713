"""The knowledge base's pure parts: an article file's title and slug, the file a ticket
becomes, the words and queries the index is searched with, and the snippet shown."""

from __future__ import annotations

from maildesk.kb import articles, terms


def test_title_is_the_first_heading_and_the_body_follows_it() -> None:
    """`# Título` opens the file (after a BOM or blank lines); the body is what follows."""
    article = articles.parse(
        "Uso-de-Ascensores", "\ufeff\n# Uso de los ascensores ##\r\n\nNo más de 8 personas.\n"
    )
    assert article == articles.Article(
        "uso-de-ascensores", "Uso de los ascensores", "No más de 8 personas."
    )


def test_a_file_without_heading_is_titled_by_its_name() -> None:
    """Text before any heading is body; the name gives the title."""
    article = articles.parse("horario-piscina", "La piscina abre a las 9.\n\n# Otra cosa\n")
    assert article.title == "horario piscina"
    assert article.body.startswith("La piscina abre a las 9.")


def test_slugs_fold_accents_and_stop_at_a_word() -> None:
    """ "Ñandú" is "nandu"; a long subject is cut at a hyphen; nothing usable is "articulo"."""
    assert articles.slugify("Ascensor de la torre Ñandú!") == "ascensor-de-la-torre-nandu"
    long = articles.slugify("palabra " * 20)
    assert len(long) <= articles.SLUG_CHARS and not long.endswith("-") and long.endswith("palabra")
    assert articles.slugify("¿¡!?") == "articulo"


def test_a_closed_ticket_becomes_number_slug_file_with_its_subject_as_title() -> None:
    name, text = articles.from_ticket(
        42, "  Ascensor   detenido en Ñandú ", "Se reinició el tablero.\n"
    )
    assert name == "42-ascensor-detenido-en-nandu.md"
    assert text == "# Ascensor detenido en Ñandú\n\nSe reinició el tablero.\n"
    assert articles.parse(name[:-3], text).title == "Ascensor detenido en Ñandú"


def test_query_words_are_folded_distinct_and_without_stopwords() -> None:
    """The request's words without accents, each once, without "el", "de", "no"."""
    found = terms.query_words("es", "El ascénsor de la torre Ñandú no funciona; el ASCENSOR")
    assert found == ["ascensor", "torre", "nandu", "funciona"]
    assert terms.query_words("en", "The elevator is broken") == ["elevator", "broken"]
    assert terms.query_words("es", "hola, gracias!") == []
    assert (
        len(terms.query_words("es", " ".join(f"palabra{i}" for i in range(100))))
        == terms.QUERY_WORDS
    )


def test_sqlite_query_and_index_meet_on_stems() -> None:
    """ "ascensores" (article) and "ascensor" (request) are one stem; English too."""
    assert terms.indexed("es", "Los ascensores") == "los ascensor"
    assert terms.fts5_query("es", ["ascensor", "ascensores", "nandu"]) == '"ascensor" OR "nandu"'
    assert terms.indexed("en", "Elevators") == terms.fts5_query("en", ["elevator"]).strip('"')
    assert terms.fts5_query("es", []) == ""


def test_postgres_query_is_any_of_the_words() -> None:
    assert terms.tsquery(["ascensor", "nandu"]) == "ascensor | nandu"


def test_snippet_is_the_paragraph_with_a_wanted_word_in_plain_text() -> None:
    body = "Intro general.\n\n## Ascensores\n\n- Los **ascensores** se revisan [cada mes](https://x.example).\n\nFin."
    assert articles.snippet(body, ["ascensor"]) == "Ascensores"
    assert articles.snippet(body, ["ascensor", "revis"]) == "Los ascensores se revisan cada mes."
    assert articles.snippet(body, ["revis"]) == "Los ascensores se revisan cada mes."
    assert articles.snippet(body, ["piscin"]) == "Intro general."
    cut = articles.snippet("palabra " * 100, ["zzz"], limit=30)
    assert cut.endswith(" …") and len(cut) <= 32
