"""The words of a report for people (es/en): table titles, column headings, and
stored names worded through `labels`. JSON and CSV keep the stored names."""

from __future__ import annotations

from typing import Any

from maildesk import labels
from maildesk.reports.tables import Column, Kind

TITLES = {
    "es": {
        "volume_by_period": "Volumen por período",
        "volume_by": "Volumen por categoría, prioridad, canal, tipo y equipo",
        "closed_by_cause": "Cerradas por causa final",
        "times": "Tiempos de primera respuesta y resolución (horas)",
        "compliance": "Cumplimiento de SLA",
        "backlog_by_period": "Pendientes al cierre de cada período",
        "backlog_now": "Pendientes ahora",
        "recurrence": "Recurrencias",
        "recurrence_by_unit": "Solicitudes y recurrencias por unidad y torre (directorio)",
        "quality": "Reaperturas, cierres y satisfacción",
        "kb_suggestions": "Sugerencias de la base de conocimiento",
        "ratings": "Distribución de calificaciones",
        "comments": "Comentarios de los residentes",
        "slowest": "Las más lentas del período",
    },
    "en": {
        "volume_by_period": "Volume by period",
        "volume_by": "Volume by category, priority, channel, type and team",
        "closed_by_cause": "Closed by final cause",
        "times": "First-response and resolution times (hours)",
        "compliance": "SLA compliance",
        "backlog_by_period": "Backlog at the end of each period",
        "backlog_now": "Backlog now",
        "recurrence": "Recurrence",
        "recurrence_by_unit": "Requests and recurrence by unit and tower (directory)",
        "quality": "Reopenings, closures and satisfaction",
        "kb_suggestions": "Knowledge-base suggestions",
        "ratings": "Ratings",
        "comments": "Residents' comments",
        "slowest": "Slowest tickets of the period",
    },
}

HEADINGS = {
    "es": {
        "period": "período",
        "opened": "abiertas",
        "resolved": "resueltas",
        "closed": "cerradas",
        "dimension": "por",
        "key": "valor",
        "measure": "medida",
        "n": "n",
        "calendar_mean_h": "calendario media",
        "calendar_median_h": "calendario mediana",
        "calendar_p90_h": "calendario p90",
        "business_mean_h": "hábil media",
        "business_median_h": "hábil mediana",
        "business_p90_h": "hábil p90",
        "target": "meta",
        "met": "cumplidas",
        "pct": "%",
        "open": "total",
        "state": "estado",
        "tickets": "tickets",
        "older_24h": "más de 24 h",
        "recurring": "recurrentes",
        "numbers": "tickets",
        "metric": "indicador",
        "value": "valor",
        "rating": "nota",
        "comment": "comentario",
        "rated_at": "fecha",
        "number": "n.º",
        "subject": "asunto",
        "priority": "prioridad",
        "category": "categoría",
        "team": "equipo",
        "responsible": "responsable",
        "calendar_h": "horas calendario",
        "business_h": "horas hábiles",
        "cause": "causa",
        "label": "nombre",
    },
    "en": {
        "period": "period",
        "opened": "opened",
        "resolved": "resolved",
        "closed": "closed",
        "dimension": "by",
        "key": "value",
        "measure": "measure",
        "n": "n",
        "calendar_mean_h": "calendar mean",
        "calendar_median_h": "calendar median",
        "calendar_p90_h": "calendar p90",
        "business_mean_h": "business mean",
        "business_median_h": "business median",
        "business_p90_h": "business p90",
        "target": "target",
        "met": "met",
        "pct": "%",
        "open": "total",
        "state": "state",
        "tickets": "tickets",
        "older_24h": "older than 24 h",
        "recurring": "recurring",
        "numbers": "tickets",
        "metric": "figure",
        "value": "value",
        "rating": "rating",
        "comment": "comment",
        "rated_at": "date",
        "number": "no.",
        "subject": "subject",
        "priority": "priority",
        "category": "category",
        "team": "team",
        "responsible": "responsible",
        "calendar_h": "calendar hours",
        "business_h": "business hours",
        "cause": "cause",
        "label": "name",
    },
}

TERMS = {
    "es": {
        "all": "todas",
        "category": "categoría",
        "priority": "prioridad",
        "channel": "canal",
        "type": "tipo",
        "team": "equipo",
        "responsible": "responsable",
        "vendor": "proveedor",
        "unit": "unidad",
        "unit_category": "unidad y categoría",
        "tower": "torre",
        "first_response": "primera respuesta",
        "resolution": "resolución",
        "resolved": "resueltas (a validación o cierre)",
        "reopened": "reabiertas",
        "reopen_rate_pct": "tasa de reapertura %",
        "confirmations_with_suggestions": "confirmaciones con sugerencias",
        "web_requests_with_suggestions": "solicitudes web con sugerencias",
        "web_requests_opened_after_suggestions": "solicitudes web abiertas pese a sugerencias",
        "closed_success": "cerradas con éxito",
        "closed_failure": "cerradas sin éxito",
        "rated": "calificadas",
        "rating_mean": "calificación media",
        "": "—",
    },
    "en": {
        "all": "all",
        "category": "category",
        "priority": "priority",
        "channel": "channel",
        "type": "type",
        "team": "team",
        "responsible": "responsible",
        "vendor": "vendor",
        "unit": "unit",
        "unit_category": "unit and category",
        "tower": "tower",
        "first_response": "first response",
        "resolution": "resolution",
        "resolved": "resolved (to validation or closed)",
        "reopened": "reopened",
        "reopen_rate_pct": "reopen rate %",
        "confirmations_with_suggestions": "confirmations with suggestions",
        "web_requests_with_suggestions": "web requests shown suggestions",
        "web_requests_opened_after_suggestions": "web requests opened after suggestions",
        "closed_success": "closed with success",
        "closed_failure": "closed without success",
        "rated": "rated",
        "rating_mean": "mean rating",
        "": "—",
    },
}

_NAMES = {
    "state": labels.state_label,
    "priority": labels.priority_label,
    "category": labels.category_label,
    "team": labels.team_label,
    "channel": labels.channel_label,
}

# The `--by` value in the table's header line.
PERIODS = {
    "es": {"day": "día", "week": "semana", "month": "mes"},
    "en": {"day": "day", "week": "week", "month": "month"},
}


def period(by: str, language: str) -> str:
    return PERIODS[language][by]


def title(name: str, language: str) -> str:
    return TITLES[language][name]


def heading(column: Column, language: str) -> str:
    if labels.state_of(column.key) is not None and column.key not in HEADINGS[language]:
        return labels.state_label(column.key, language)
    return HEADINGS[language].get(column.key, column.key)


def shown(column: Column, row: dict[str, Any], language: str) -> Any:
    """A cell as people read it: stored names worded, kinds of row words translated."""
    value = row.get(column.key)
    if column.kind is Kind.NAME:
        kind = row.get("dimension", column.key)
        if not value:
            return "—" if kind != "all" else TERMS[language]["all"]
        if kind == "unit":
            return labels.unit_label(value, language)
        word = _NAMES.get(kind)
        return word(value, language) if word else value
    if column.kind is Kind.TEXT and column.key in ("dimension", "measure", "target", "metric"):
        return TERMS[language].get(str(value), value)
    return value
