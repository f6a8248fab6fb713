"""A directory file's rows checked before anything is written, and units named any way (pure)."""

from __future__ import annotations

from datetime import date

from maildesk.directory.keys import loose, parse_unit, shown, unit_key
from maildesk.directory.rows import check
from maildesk.domain import Relation


def lines(*rows: list[str]) -> list[tuple[int, list[str]]]:
    return [(n, row) for n, row in enumerate(rows, start=1)]


def test_spanish_headers_with_accents_and_case_are_read() -> None:
    checked = check(
        lines(
            ["TORRE", "Unidad", "Nombre", "Correo", "Teléfono", "Relación", "Desde", "Hasta"],
            [
                "Torre Ñandú",
                "402",
                "Íñigo Peñalolén",
                "Inigo@Correo.example",
                "+56 9 1",
                "Propietario",
                "01-03-2024",
                "",
            ],
        )
    )
    assert checked.errors == ()
    (entry,) = checked.entries
    assert entry.unit.tower == "Torre Ñandú" and entry.unit.number == "402"
    assert entry.name == "Íñigo Peñalolén"
    assert entry.emails == ("inigo@correo.example",)
    assert entry.phones == ("+56 9 1",)
    assert entry.relation is Relation.OWNER
    assert entry.since == date(2024, 3, 1) and entry.until is None


def test_english_headers_and_a_label_unit() -> None:
    checked = check(
        lines(
            ["Tower", "Unit", "Name", "Email", "Relation", "From", "Until"],
            [
                "B",
                "Bodega 12",
                "Jane Doe",
                "jane@x.example; jd@x.example",
                "tenant",
                "2025-01-01",
                "2025-12-31",
            ],
        )
    )
    assert checked.errors == ()
    (entry,) = checked.entries
    assert entry.unit.label == "Bodega 12" and entry.unit.number == ""
    assert entry.emails == ("jane@x.example", "jd@x.example")
    assert entry.relation is Relation.TENANT


def test_every_bad_row_is_named_by_its_line() -> None:
    checked = check(
        lines(
            ["torre", "unidad", "nombre", "correo", "relacion", "desde", "hasta"],
            ["A", "101", "Ana", "ana@x.example", "propietaria", "", ""],
            ["A", "", "Sin unidad", "", "", "", ""],
            ["A", "102", "Beto", "no-es-correo", "", "", ""],
            ["A", "103", "Carla", "", "vecina", "", ""],
            ["A", "104", "Dani", "", "", "31/02/2024", ""],
            ["A", "105", "Eli", "", "", "2024-05-01", "2024-01-01"],
            ["A", "106", "Otra Ana", "ana@x.example", "", "", ""],
        )
    )
    joined = "\n".join(checked.errors)
    for line in (3, 4, 5, 6, 7, 8):
        assert f"line {line}:" in joined
    assert "line 2:" not in joined
    assert "'vecina' is not a relation" in joined


def test_a_file_without_a_unit_column_is_refused_on_line_1() -> None:
    assert check(lines(["nombre", "correo"], ["Ana", "a@x.example"])).errors == (
        "line 1: no 'unidad'/'unit' column in the header",
    )


def test_one_unit_however_it_is_written() -> None:
    assert unit_key("Torre Ñandú", "Depto 402") == unit_key("ñandu", "402") == "nandu/402"
    assert parse_unit("B", "", "depto 402a").number == "402A"
    assert loose("torre B, depto 402") == loose("B 402") == "b 402"
    assert loose("bodega 12") == "bodega 12"
    assert shown("Torre Ñandú", "402", "") == "Torre Ñandú, depto 402"
    assert shown("B", "", "bodega 12") == "torre B, bodega 12"
