"""Typed, frozen settings from a TOML file and `MAILDESK_*` environment variables.

Every error names the file, the key and what was expected, and is raised before
any mailbox or relay is touched. With no file at all the embedded defaults give a
working desk: SQLite here, the listener on 127.0.0.1:2525, outbound mail written
to a folder, the status page on 127.0.0.1:8080. The defaults themselves are data,
in `defaults.toml` (see `config_schema`), shared with the starter file of `init`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from maildesk import keyfile
from maildesk.config_schema import builtin, default
from maildesk.errors import ConfigError
from maildesk.text import fold

ENV_PREFIX = "MAILDESK_"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of time; `business` means counted in the desk's business hours."""

    seconds: int
    business: bool = False

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = re.fullmatch(r"\s*(\d+)\s*(b?)(s|m|h|d)\s*", text)
        if not match:
            raise ValueError(text)
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(3)]
        return cls(int(match.group(1)) * unit, business=bool(match.group(2)))


@dataclass(frozen=True, slots=True)
class DeskConfig:
    slug: str = default("desk", "slug")
    name: str = default("desk", "name")
    address: str = default("desk", "address")
    base_url: str = default("desk", "base_url")
    language: Literal["es", "en"] = default("desk", "language")
    timezone: str = default("desk", "timezone")
    database: str = default("desk", "database")
    data_dir: str = default("desk", "data_dir")
    secret_key: str = default("desk", "secret_key")
    tag_prefix: str = default("desk", "tag_prefix")
    max_message_mb: int = default("desk", "max_message_mb")
    autoreply_per_hour: int = default("desk", "autoreply_per_hour")
    reopen_days: int = default("desk", "reopen_days")
    auto_close_days: int = default("desk", "auto_close_days")
    retention_days: int = default("desk", "retention_days")
    default_team: str = default("desk", "default_team")
    trusted_authserv_ids: tuple[str, ...] = default("desk", "trusted_authserv_ids")
    channels: tuple[str, ...] = default("desk", "channels")
    require_cause_on_close: bool = default("desk", "require_cause_on_close")
    staff_reply_days: int = default("desk", "staff_reply_days")
    emergency_contacts: tuple[str, ...] = default("desk", "emergency_contacts")


@dataclass(frozen=True, slots=True)
class ImapConfig:
    host: str = default("imap", "host")
    port: int = default("imap", "port")
    security: Literal["ssl", "starttls", "none"] = default("imap", "security")
    username: str = default("imap", "username")
    password: str = default("imap", "password")
    folder: str = default("imap", "folder")
    idle: bool = default("imap", "idle")
    poll_seconds: int = default("imap", "poll_seconds")
    import_existing: bool = default("imap", "import_existing")
    processed_folder: str = default("imap", "processed_folder")
    batch_size: int = default("imap", "batch_size")
    timeout_seconds: int = default("imap", "timeout_seconds")
    lease_seconds: int = default("imap", "lease_seconds")


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = default("smtp", "host")
    port: int = default("smtp", "port")
    security: Literal["ssl", "starttls", "none"] = default("smtp", "security")
    username: str = default("smtp", "username")
    password: str = default("smtp", "password")
    outbox_dir: str = default("smtp", "outbox_dir")
    timeout_seconds: int = default("smtp", "timeout_seconds")
    max_attempts: int = default("smtp", "max_attempts")


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    listen: str = default("listener", "listen")
    protocol: Literal["smtp", "lmtp"] = default("listener", "protocol")


@dataclass(frozen=True, slots=True)
class WebConfig:
    listen: str = default("web", "listen")
    languages: tuple[str, ...] = default("web", "languages")
    max_files: int = default("web", "max_files")
    max_attachment_mb: int = default("web", "max_attachment_mb")
    lookup_per_client: str = default("web", "lookup_per_client")
    lookup_per_address: str = default("web", "lookup_per_address")
    reply_per_ticket: str = default("web", "reply_per_ticket")
    reply_per_client: str = default("web", "reply_per_client")
    request_hours: int = default("web", "request_hours")
    staff_session_hours: int = default("web", "staff_session_hours")
    list_hours: int = default("web", "list_hours")
    trusted_proxies: int = default("web", "trusted_proxies")
    rate_limit_storage: str = default("web", "rate_limit_storage")
    metrics_allow: tuple[str, ...] = default("web", "metrics_allow")


@dataclass(frozen=True, slots=True)
class LogConfig:
    """How the process logs (install-wide: the first desk's table is the one used)."""

    format: Literal["plain", "json"] = default("log", "format")
    file: str = default("log", "file")
    level: Literal["debug", "info", "warning", "error"] = default("log", "level")


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """Bounds on what one mail may cost, what a mail carries, and what is kept."""

    attempts: int = default("limits", "attempts")
    parts: int = default("limits", "parts")
    depth: int = default("limits", "depth")
    files: int = default("limits", "files")
    decoded_mb: int = default("limits", "decoded_mb")
    parse_memory_mb: int = default("limits", "parse_memory_mb")
    parse_seconds: int = default("limits", "parse_seconds")
    notice_attach_mb: int = default("limits", "notice_attach_mb")
    notice_attach_total_mb: int = default("limits", "notice_attach_total_mb")
    keep_sent_days: int = default("limits", "keep_sent_days")


DAY_NAMES = {
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
    "lun": 0,
    "mar": 1,
    "mie": 2,
    "mié": 2,
    "jue": 3,
    "vie": 4,
    "sab": 5,
    "sáb": 5,
    "dom": 6,
}


@dataclass(frozen=True, slots=True)
class CalendarConfig:
    """The desk's business hours, for targets written in business time (`8bh`, `2bd`)."""

    days: tuple[str, ...] = default("calendar", "days")
    opens: str = default("calendar", "opens")
    closes: str = default("calendar", "closes")
    holidays_country: str = default("calendar", "holidays_country")
    holidays_subdivision: str = default("calendar", "holidays_subdivision")
    holidays: tuple[str, ...] = default("calendar", "holidays")


@dataclass(frozen=True, slots=True)
class EscalationConfig:
    """When a ticket climbs to whom (seeds: supervisor → gerente → dirección)."""

    at_risk: float = default("escalation", "at_risk")
    manager_after: Duration = Duration.parse(default("escalation", "manager_after"))
    manager_margin: float = default("escalation", "manager_margin")
    director_factor: float = default("escalation", "director_factor")
    digest_daily: str = default("escalation", "digest_daily")
    digest_weekly: str = default("escalation", "digest_weekly")
    digest_monthly: str = default("escalation", "digest_monthly")
    check_seconds: int = default("escalation", "check_seconds")


@dataclass(frozen=True, slots=True)
class ReportsConfig:
    """What `maildesk report` counts as a recurrence."""

    recurrence_days: int = default("reports", "recurrence_days")


@dataclass(frozen=True, slots=True)
class StaffConfig:
    email: str
    name: str = default("staff", "name")
    role: Literal["agent", "supervisor", "manager", "director", "admin"] = default("staff", "role")
    teams: tuple[str, ...] = default("staff", "teams")


@dataclass(frozen=True, slots=True)
class PriorityConfig:
    first_response: Duration
    resolution: Duration
    keywords: tuple[str, ...] = default("priorities", "keywords")


@dataclass(frozen=True, slots=True)
class CategoryConfig:
    """A category, the words that suggest it, and the team it goes to by default."""

    keywords: tuple[str, ...] = default("categories", "keywords")
    team: str = default("categories", "team")
    priority: str = default("categories", "priority")
    require_note: bool = default("categories", "require_note")
    require_attachment: bool = default("categories", "require_attachment")


@dataclass(frozen=True, slots=True)
class TypeConfig:
    """A request type (PVI's "tipo"): its hint, default category and deadline indicator."""

    name: str
    name_en: str = default("types", "name_en")
    hint: str = default("types", "hint")
    hint_en: str = default("types", "hint_en")
    category: str = default("types", "category")
    deadline: Duration | None = None

    def label(self, language: str) -> str:
        return self.name_en or self.name if language == "en" else self.name

    def hint_in(self, language: str) -> str:
        return self.hint_en or self.hint if language == "en" else self.hint


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """A routing rule: the first rule any of whose criteria matches picks the team."""

    team: str
    categories: tuple[str, ...] = default("routes", "categories")
    keywords: tuple[str, ...] = default("routes", "keywords")
    units: tuple[str, ...] = default("routes", "units")
    senders: tuple[str, ...] = default("routes", "senders")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything maildesk reads from its configuration, already validated."""

    desk: DeskConfig = field(default_factory=DeskConfig)
    imap: ImapConfig | None = None
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    listener: ListenerConfig | None = None
    web: WebConfig = field(default_factory=WebConfig)
    log: LogConfig = field(default_factory=LogConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    staff: tuple[StaffConfig, ...] = ()
    priorities: Mapping[str, PriorityConfig] = field(default_factory=lambda: DEFAULT_PRIORITIES)
    categories: Mapping[str, CategoryConfig] = field(default_factory=lambda: DEFAULT_CATEGORIES)
    routes: tuple[RouteConfig, ...] = ()
    types: Mapping[str, TypeConfig] = field(default_factory=dict)
    causes: Mapping[str, str] = field(default_factory=dict)
    source: str = "(embedded defaults)"
    base_dir: Path = field(default_factory=Path.cwd)
    # The install's data_dir when this desk is one of several `[[desks]]` (its own
    # files are in a subfolder of it), else "".
    shared_data_dir: str = ""

    @property
    def data_path(self) -> Path:
        return (self.base_dir / self.desk.data_dir).resolve()

    @property
    def templates_path(self) -> Path:
        """`data_dir/templates/<slug>/`: mail templates of this desk's own, over the shipped."""
        shared = (self.base_dir / (self.shared_data_dir or self.desk.data_dir)).resolve()
        return shared / "templates" / self.desk.slug

    @property
    def database_url(self) -> str:
        """SQLite paths are taken relative to the config file's folder."""
        url = self.desk.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((self.base_dir / url[len(prefix) :]).resolve())
        return url

    def staff_member(self, address: str) -> StaffConfig | None:
        address = address.strip().lower()
        return next((s for s in self.staff if s.email.lower() == address), None)

    @property
    def teams(self) -> tuple[str, ...]:
        """Every team named anywhere: staff, categories, routes and the default."""
        names = {self.desk.default_team}
        names.update(t for s in self.staff for t in s.teams)
        names.update(c.team for c in self.categories.values() if c.team)
        names.update(r.team for r in self.routes)
        return tuple(sorted(names))

    def team_members(self, team: str) -> tuple[StaffConfig, ...]:
        return tuple(s for s in self.staff if team in s.teams)


_SECTIONS: dict[str, type] = {
    "desk": DeskConfig,
    "imap": ImapConfig,
    "smtp": SmtpConfig,
    "listener": ListenerConfig,
    "web": WebConfig,
    "log": LogConfig,
    "limits": LimitsConfig,
    "calendar": CalendarConfig,
    "escalation": EscalationConfig,
    "reports": ReportsConfig,
}


def _to_bool(kind: Any, value: Any, from_env: bool) -> bool:
    if from_env and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if isinstance(value, bool):
        return value
    raise ValueError


def _to_int(kind: Any, value: Any, from_env: bool) -> int:
    if from_env and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError


def _to_float(kind: Any, value: Any, from_env: bool) -> float:
    if from_env and isinstance(value, str):
        return float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError


def _to_str(kind: Any, value: Any, from_env: bool) -> str:
    if isinstance(value, str):
        return value
    raise ValueError


def _to_duration(kind: Any, value: Any, from_env: bool) -> Duration:
    if isinstance(value, str):
        return Duration.parse(value)
    raise ValueError


def _to_optional_duration(kind: Any, value: Any, from_env: bool) -> Duration | None:
    """An optional duration: "" means none (the priority's target applies)."""
    if isinstance(value, str) and not value.strip():
        return None
    return _to_duration(kind, value, from_env)


def _to_choice(kind: Any, value: Any, from_env: bool) -> Any:
    if value in get_args(kind):
        return value
    raise ValueError


def _to_strings(kind: Any, value: Any, from_env: bool) -> tuple[str, ...]:
    if from_env and isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError


_TRUE, _FALSE = frozenset({"1", "true", "yes"}), frozenset({"0", "false", "no"})

# A key's type (or its origin, for Literal[...] and tuple[...]) -> how a TOML or
# environment value becomes it (ValueError when it cannot), and what an error says
# was expected.
_CONVERTERS: dict[Any, tuple[Callable[[Any, Any, bool], Any], Callable[[Any], str]]] = {
    bool: (_to_bool, lambda _: "true or false"),
    int: (_to_int, lambda _: "an integer"),
    float: (_to_float, lambda _: "a number"),
    str: (_to_str, lambda _: "a string"),
    Duration: (
        _to_duration,
        lambda _: 'a duration such as "30s", "15m", "8h", "2d", "8bh" or "2bd"',
    ),
    Duration | None: (
        _to_optional_duration,
        lambda _: 'a duration such as "8h", "5d" or "5bd", or "" for none',
    ),
    Literal: (_to_choice, lambda kind: "one of " + ", ".join(f'"{a}"' for a in get_args(kind))),
    tuple: (_to_strings, lambda _: "a list of strings"),
}


def _converter(kind: Any) -> tuple[Callable[[Any, Any, bool], Any], Callable[[Any], str]]:
    return _CONVERTERS.get(kind) or _CONVERTERS[get_origin(kind) or kind]


def _expected(kind: Any) -> str:
    return _converter(kind)[1](kind)


def _convert(kind: Any, value: Any, *, from_env: bool) -> Any:
    """Turn a TOML (or environment) value into `kind`, or raise ValueError."""
    return _converter(kind)[0](kind, value, from_env)


def _build(
    cls: type,
    table: Mapping[str, Any],
    where: str,
    source: str,
    env_name: str | None,
    env_scope: str = "",
    own: Collection[str] = (),
) -> Any:
    """Build dataclass `cls` from a TOML table, applying environment overrides.

    With `env_scope` (one desk of several) `MAILDESK_<SCOPE>_<SECTION>_<KEY>` is looked up
    before the install-wide `MAILDESK_<SECTION>_<KEY>`, which does not apply to the `own`
    keys the desk's table sets itself (`MAILDESK_DESK_ADDRESS` must not give every
    building one address).
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in table:
        if key not in names:
            raise ConfigError(
                source,
                f"{where}.{key}",
                "one of the known keys: " + ", ".join(sorted(names)),
                "an unknown key",
            )
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        raw: Any = table.get(f.name, dataclasses.MISSING)
        from_env = False
        origin = source
        if env_name is not None:
            scoped = [f"{env_scope}_{env_name}"] if env_scope else []
            shared = [] if f.name in own else [env_name]
            for prefix in (*scoped, *shared):
                var = f"{ENV_PREFIX}{prefix}_{f.name}".upper()
                if var in os.environ:
                    raw, from_env, origin = os.environ[var], True, f"${var}"
                    break
        if raw is dataclasses.MISSING:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(
                    source, f"{where}.{f.name}", _expected(kind), "nothing (the key is required)"
                )
            continue
        try:
            values[f.name] = _convert(kind, raw, from_env=from_env)
        except ValueError:
            raise ConfigError(origin, f"{where}.{f.name}", _expected(kind), repr(raw)) from None
    return cls(**values)


def _builtin(cls: type[Any], section: str) -> Mapping[str, Any]:
    """The built-in tables of `section`, built and checked like an operator's."""
    return types.MappingProxyType(
        {
            name: _build(cls, body, f"{section}.{name}", "defaults.toml", None)
            for name, body in builtin(section).items()
        }
    )


DEFAULT_PRIORITIES: Mapping[str, PriorityConfig] = _builtin(PriorityConfig, "priorities")
DEFAULT_CATEGORIES: Mapping[str, CategoryConfig] = _builtin(CategoryConfig, "categories")


def _check(config: Config) -> None:
    """Cross-field checks that a single type cannot express."""
    source = config.source
    if "@" not in config.desk.address:
        raise ConfigError(
            source,
            "desk.address",
            "an email address such as soporte@example.org",
            repr(config.desk.address),
        )
    if not re.match(r"^https?://", config.desk.base_url):
        raise ConfigError(
            source, "desk.base_url", "an http:// or https:// URL", repr(config.desk.base_url)
        )
    try:
        ZoneInfo(config.desk.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            source,
            "desk.timezone",
            'an IANA time zone such as "America/Santiago"',
            repr(config.desk.timezone),
        ) from None
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", config.desk.database):
        raise ConfigError(
            source,
            "desk.database",
            "a sqlite:/// or postgresql+psycopg:// URL",
            repr(config.desk.database),
        )
    if config.desk.staff_reply_days < 1:
        raise ConfigError(
            source,
            "desk.staff_reply_days",
            "a whole number of days, 1 or more",
            repr(config.desk.staff_reply_days),
        )
    endpoints = [("web.listen", config.web.listen)]
    if config.listener is not None:
        endpoints.append(("listener.listen", config.listener.listen))
    for key, value in endpoints:
        parse_endpoint(value, source=source, key=key)
    if config.imap is not None:
        if not config.imap.host:
            raise ConfigError(source, "imap.host", "the IMAP server's host name", "nothing")
        if not 1 <= config.imap.port <= 65535:
            raise ConfigError(source, "imap.port", "a port from 1 to 65535", repr(config.imap.port))
    for name, category in config.categories.items():
        if category.priority and category.priority not in config.priorities:
            raise ConfigError(
                source,
                f"categories.{name}.priority",
                "one of the priorities " + ", ".join(config.priorities),
                repr(category.priority),
            )
    for i, route in enumerate(config.routes):
        unknown = [c for c in route.categories if c not in config.categories]
        if unknown:
            raise ConfigError(
                source,
                f"routes[{i}].categories",
                "categories defined under [categories] or the defaults: "
                + ", ".join(config.categories),
                repr(unknown),
            )
    _check_records(config)
    _check_calendar(config)
    for language in config.web.languages:
        if language not in ("es", "en"):
            raise ConfigError(source, "web.languages", 'a list of "es" and "en"', repr(language))
    for allowed in config.web.metrics_allow:
        try:
            ipaddress.ip_network(allowed, strict=False)
        except ValueError:
            raise ConfigError(
                source,
                "web.metrics_allow",
                'a list of addresses or networks such as "127.0.0.1" or "10.0.0.0/8"',
                repr(allowed),
            ) from None
    for key in ("lookup_per_client", "lookup_per_address", "reply_per_ticket", "reply_per_client"):
        value = getattr(config.web, key)
        if not re.fullmatch(r"\d+ per (second|minute|hour|day)", value):
            raise ConfigError(source, f"web.{key}", 'a rate such as "10 per hour"', repr(value))
    if not RATE_LIMIT_STORAGE.fullmatch(config.web.rate_limit_storage):
        raise ConfigError(
            source,
            "web.rate_limit_storage",
            '"memory://" (one web worker) or "redis://host:port[/db]" (shared by several)',
            repr(config.web.rate_limit_storage),
        )
    for key, (low, high, expected) in _BOUNDS.items():
        section, _, name = key.partition(".")
        table = getattr(config, section)
        if table is None:  # an optional table left out ([imap])
            continue
        value = getattr(table, name)
        if value < low or (high is not None and value > high):
            raise ConfigError(source, key, expected, repr(value))
    _check_limits(config)
    for i, member in enumerate(config.staff):
        if "@" not in member.email:
            raise ConfigError(source, f"staff[{i}].email", "an email address", repr(member.email))


# Where the page's rate limits are counted: in the process, or in a Redis all web workers share.
RATE_LIMIT_STORAGE = re.compile(
    r"memory://|rediss?://([^@/\s]+@)?[A-Za-z0-9.\-]+(:\d{1,5})?(/\d{1,2})?"
)

# Whole-number keys and their bounds (low, high or None): what each is expected to be.
_BOUNDS: dict[str, tuple[int, int | None, str]] = {
    "desk.retention_days": (0, None, "a whole number of days, 0 or more"),
    "web.staff_session_hours": (1, None, "a whole number of hours, 1 or more"),
    "web.request_hours": (1, 24 * 30, "a whole number of hours, 1 to 720"),
    "web.list_hours": (1, None, "a whole number of hours, 1 or more"),
    "web.trusted_proxies": (
        0,
        10,
        "the number of reverse proxies in front of the page, 0 to 10",
    ),
    "imap.lease_seconds": (5, 3600, "a whole number of seconds, 5 to 3600"),
    "escalation.check_seconds": (1, 3600, "a whole number of seconds, 1 to 3600"),
}


def _check_limits(config: Config) -> None:
    """Every bound is a count; only the retention may be 0 (keep sent mail whole forever)."""
    for f in dataclasses.fields(LimitsConfig):
        value = getattr(config.limits, f.name)
        lowest = 0 if f.name == "keep_sent_days" else 1
        if value < lowest:
            raise ConfigError(
                config.source, f"limits.{f.name}", f"a whole number, {lowest} or more", repr(value)
            )


def _check_teams(config: Config, written: Mapping[str, str], where: str) -> None:
    """Every team requests are sent to has someone in it, and every staff team gets requests.

    A misspelt team (`administracion` for `administración`) would otherwise send its
    requests to the supervisors without a word. `written` maps the keys of the teams the
    operator wrote to those teams: an unserved one is an error, while an unserved team
    of the built-in categories, or a staff team nothing routes to, is only a warning (a
    small building with one admin has no security team, and must still start), logged
    as from `where` (the file, and which of its desks).
    """
    if not config.staff:
        return
    served = {team for member in config.staff for team in member.teams}
    routed = {config.desk.default_team, *(r.team for r in config.routes)}
    routed.update(c.team for c in config.categories.values() if c.team)

    def spelled(team: str, among: set[str]) -> str:
        match = next((t for t in sorted(among) if fold(t) == fold(team)), None)
        return f"{team!r} (did you mean {match!r}?)" if match else repr(team)

    for key, team in written.items():
        if team not in served:
            raise ConfigError(
                config.source,
                key,
                "a team some [[staff]] member is in: " + ", ".join(sorted(served)),
                spelled(team, served),
            )
    for i, member in enumerate(config.staff):
        for team in member.teams:
            if team in routed:
                continue
            if any(fold(t) == fold(team) for t in routed):
                raise ConfigError(
                    config.source,
                    f"staff[{i}].teams",
                    "teams that a category, a route or desk.default_team sends requests to: "
                    + ", ".join(sorted(routed)),
                    spelled(team, routed),
                )
            log.warning(
                "%s: staff[%d].teams: no category, route or desk.default_team sends requests "
                "to %r; %s gets its requests only by #asignar",
                where,
                i,
                team,
                member.email,
            )
    for team in sorted(routed - served):
        log.warning(
            "%s: no [[staff]] member is in team %r: its requests go to the supervisors",
            where,
            team,
        )


def _check_records(config: Config) -> None:
    """Types name known categories; media and causes are words staff can type."""
    source = config.source
    for name, kind in config.types.items():
        if kind.category and kind.category not in config.categories:
            raise ConfigError(
                source,
                f"types.{name}.category",
                "one of the categories " + ", ".join(config.categories),
                repr(kind.category),
            )
    if not config.desk.channels or any(not c.strip() for c in config.desk.channels):
        raise ConfigError(
            source,
            "desk.channels",
            'a list of intake media such as ["email", "phone"]',
            repr(list(config.desk.channels)),
        )
    if config.desk.require_cause_on_close and not config.causes:
        raise ConfigError(
            source,
            "causes",
            'at least one cause (slug = "label") when desk.require_cause_on_close is true',
            "none",
        )


def _check_calendar(config: Config) -> None:
    source, cal = config.source, config.calendar
    for day in cal.days:
        if day.lower() not in DAY_NAMES:
            raise ConfigError(
                source, "calendar.days", "day names such as lun, mar … or mon, tue …", repr(day)
            )
    for key in ("opens", "closes"):
        value = getattr(cal, key)
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ConfigError(source, f"calendar.{key}", 'a time such as "09:00"', repr(value))
    if cal.closes <= cal.opens:
        raise ConfigError(
            source, "calendar.closes", f"a time after opens ({cal.opens})", repr(cal.closes)
        )
    for value in cal.holidays:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ConfigError(
                source, "calendar.holidays", 'dates such as "2026-12-24"', repr(value)
            )
    esc = config.escalation
    if not re.fullmatch(r"(([01]\d|2[0-3]):[0-5]\d)?", esc.digest_daily):
        raise ConfigError(
            source,
            "escalation.digest_daily",
            'a time such as "08:00" or ""',
            repr(esc.digest_daily),
        )
    weekly = esc.digest_weekly.split()
    if esc.digest_weekly and (len(weekly) != 2 or weekly[0].lower() not in DAY_NAMES):
        raise ConfigError(
            source,
            "escalation.digest_weekly",
            'a day and time such as "lun 08:00" or ""',
            repr(esc.digest_weekly),
        )
    monthly = re.fullmatch(r"(\d{1,2}) (([01]\d|2[0-3]):[0-5]\d)", esc.digest_monthly)
    if esc.digest_monthly and (monthly is None or not 1 <= int(monthly.group(1)) <= 31):
        raise ConfigError(
            source,
            "escalation.digest_monthly",
            'a day of the month (1 to 31) and a time, such as "1 08:00", or ""',
            repr(esc.digest_monthly),
        )
    if config.reports.recurrence_days < 1:
        raise ConfigError(
            source,
            "reports.recurrence_days",
            "a whole number of days, 1 or more",
            repr(config.reports.recurrence_days),
        )


def parse_endpoint(value: str, *, source: str = "", key: str = "") -> tuple[str, int]:
    """`host:port` -> (host, port), with a config error naming `key` when it is wrong."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(source, key, 'a "host:port" such as "127.0.0.1:2525"', repr(value))
    return host.strip("[]"), int(port)


def _priorities(table: Any, source: str, env_scope: str = "") -> Mapping[str, PriorityConfig]:
    if not isinstance(table, dict):
        raise ConfigError(source, "priorities", "tables such as [priorities.alta]", repr(table))
    merged = dict(DEFAULT_PRIORITIES)
    for name in {*merged, *table}:
        body = table.get(name)
        if body is None:
            # A default priority tuned only from the environment starts from its defaults.
            default = merged[name]
            body = {
                key: f"{d.seconds}{'b' if d.business else ''}s"
                for key, d in (
                    ("first_response", default.first_response),
                    ("resolution", default.resolution),
                )
            }
            body["keywords"] = list(default.keywords)
        if not isinstance(body, dict):
            raise ConfigError(
                source,
                f"priorities.{name}",
                "a table with first_response and resolution",
                repr(body),
            )
        merged[name] = _build(
            PriorityConfig, body, f"priorities.{name}", source, f"priorities_{name}", env_scope
        )
    return types.MappingProxyType(merged)


def _tables(cls: type[Any], raw: Any, name: str, source: str) -> tuple[Any, ...]:
    """An array of tables (`[[staff]]`, `[[routes]]`), each checked like a section."""
    if not isinstance(raw, list):
        raise ConfigError(source, name, f"[[{name}]] tables", repr(raw))
    return tuple(
        _build(cls, entry if isinstance(entry, dict) else {}, f"{name}[{i}]", source, None)
        for i, entry in enumerate(raw)
    )


def _categories(table: Any, source: str) -> Mapping[str, CategoryConfig]:
    """The default categories, with the file's tables replacing or adding to them."""
    if not isinstance(table, dict):
        raise ConfigError(
            source, "categories", "tables such as [categories.mantenimiento]", repr(table)
        )
    merged = dict(DEFAULT_CATEGORIES)
    for name, body in table.items():
        if not isinstance(body, dict):
            raise ConfigError(
                source, f"categories.{name}", "a table with keywords and team", repr(body)
            )
        merged[name] = _build(CategoryConfig, body, f"categories.{name}", source, None)
    return types.MappingProxyType(merged)


def _types(table: Any, source: str) -> Mapping[str, TypeConfig]:
    if not isinstance(table, dict):
        raise ConfigError(source, "types", "tables such as [types.reclamo]", repr(table))
    built = {}
    for name, body in table.items():
        if not isinstance(body, dict):
            raise ConfigError(source, f"types.{name}", "a table with name and hint", repr(body))
        built[name] = _build(TypeConfig, body, f"types.{name}", source, None)
    return types.MappingProxyType(built)


def _causes(table: Any, source: str) -> Mapping[str, str]:
    """`[causes]`: slug = "label", in the order written."""
    if not isinstance(table, dict):
        raise ConfigError(source, "causes", 'a [causes] table of slug = "label"', repr(table))
    for slug, label in table.items():
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(source, f"causes.{slug}", "a label (a non-empty string)", repr(label))
    return types.MappingProxyType(dict(table))


def default_config_path() -> Path:
    return Path(os.environ.get("MAILDESK_CONFIG", "maildesk.toml"))


def _read(path: Path | None, required: bool) -> tuple[dict[str, Any], str, Path]:
    """The TOML data, its source for messages and the folder relative paths start from.

    With `path` None the default location is used, and a missing file means the
    embedded defaults (no data) unless `required` is set.
    """
    explicit = path is not None
    path = path or default_config_path()
    if not path.exists():
        if explicit or required:
            raise ConfigError(str(path), "(file)", "an existing configuration file", "no such file")
        return {}, "(embedded defaults)", Path.cwd()
    source = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), source, path.resolve().parent
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "(syntax)", "valid TOML", str(exc)) from None
    except UnicodeDecodeError:
        raise ConfigError(source, "(encoding)", "a UTF-8 text file", "undecodable bytes") from None


def _config(
    data: Mapping[str, Any],
    source: str,
    base_dir: Path,
    *,
    env_scope: str = "",
    own: Mapping[str, Collection[str]] | None = None,
    check_teams: bool = True,
    label: str = "",
) -> Config:
    """One desk's configuration from its (merged) TOML tables, checked."""
    known = set(_SECTIONS) | {"staff", "priorities", "categories", "routes", "types", "causes"}
    for key in data:
        if key not in known:
            raise ConfigError(
                source, key, "one of the sections " + ", ".join(sorted(known)), "an unknown section"
            )
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(source, name, f"a [{name}] table", repr(table))
        sections[name] = _build(
            cls, table, name, source, name, env_scope, (own or {}).get(name, ())
        )
    no_file = source == "(embedded defaults)"
    imap_on = "imap" in data or bool(sections["imap"].host)
    listener_on = "listener" in data or no_file or f"{ENV_PREFIX}LISTENER_LISTEN" in os.environ
    staff = _tables(StaffConfig, data.get("staff", []), "staff", source)
    config = Config(
        desk=sections["desk"],
        imap=sections["imap"] if imap_on else None,
        smtp=sections["smtp"],
        listener=sections["listener"] if listener_on else None,
        web=sections["web"],
        log=sections["log"],
        limits=sections["limits"],
        calendar=sections["calendar"],
        escalation=sections["escalation"],
        reports=sections["reports"],
        staff=staff,
        priorities=_priorities(data.get("priorities", {}), source, env_scope),
        categories=_categories(data.get("categories", {}), source),
        routes=_tables(RouteConfig, data.get("routes", []), "routes", source),
        types=_types(data.get("types", {}), source),
        causes=_causes(data.get("causes", {}), source),
        source=source,
        base_dir=base_dir,
    )
    _check(config)
    if check_teams:
        _check_teams(config, _written_teams(data, config), label or source)
    return config


def load(path: Path | None = None, *, required: bool = False) -> Config:
    """Load and validate the configuration of one desk.

    With `path` None the default location is used, and a missing file means the
    embedded defaults unless `required` is set. A file of several `[[desks]]` is
    refused here: its commands need `load_install` and a `--desk`.
    """
    install = load_install(path, required=required)
    if len(install.desks) > 1:
        raise ConfigError(
            install.desks[0].source,
            "desks",
            "one desk for this command (choose one with --desk: " + ", ".join(install.slugs) + ")",
            f"{len(install.desks)} desks",
        )
    return install.desks[0]


@dataclass(frozen=True, slots=True)
class Install:
    """Every desk of one configuration file: one building each, sharing one database."""

    desks: tuple[Config, ...]

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(c.desk.slug for c in self.desks)

    def by_slug(self, slug: str) -> Config | None:
        return next((c for c in self.desks if c.desk.slug == slug), None)

    def by_address(self, address: str) -> Config | None:
        address = address.strip().lower()
        return next((c for c in self.desks if c.desk.address.lower() == address), None)


# What a `[[desks]]` table may set besides the [desk] keys, and how each meets the
# top-level table of the same name: merged key by key, or replacing it.
_DESK_TABLES = {
    "imap": "merge",
    "smtp": "merge",
    "calendar": "merge",
    "categories": "merge",
    "priorities": "merge",
    "routes": "replace",
    "staff": "union",
    "types": "merge",
    "causes": "merge",
}
# Shared by every desk of an install: one database, one data folder (a subfolder each).
_INSTALL_KEYS = ("database", "data_dir")
SLUG = re.compile(r"[a-z0-9-]+")


def load_install(path: Path | None = None, *, required: bool = False) -> Install:
    """Every desk of the configuration: the `[[desks]]` tables, or the one `[desk]`.

    A desk inherits what it does not set from the top-level tables; its errors name
    the key as `desks[1].imap.port`. Attachments go under `data_dir/<slug>/`.
    """
    data, source, base_dir = _read(path, required)
    entries = data.get("desks")
    top = {k: v for k, v in data.items() if k != "desks"}
    if entries is None:
        return Install((_config(top, source, base_dir),))
    if not isinstance(entries, list) or not entries:
        raise ConfigError(source, "desks", "one or more [[desks]] tables", repr(entries))
    shared = _config(top, source, base_dir, check_teams=False)
    desks = tuple(_desk(entry, i, top, shared, source, base_dir) for i, entry in enumerate(entries))
    _check_distinct(desks, source)
    return Install(desks)


def _desk(
    entry: Any, i: int, top: Mapping[str, Any], shared: Config, source: str, base_dir: Path
) -> Config:
    """Desk `i`: its own keys over the top-level tables, checked like a one-desk file."""
    where = f"desks[{i}]"
    if not isinstance(entry, dict):
        raise ConfigError(source, where, "a [[desks]] table", repr(entry))
    slug = entry.get("slug")
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise ConfigError(
            source,
            f"{where}.slug",
            'lowercase letters, digits and "-", such as "torre-norte"',
            "nothing (the key is required)" if slug is None else repr(slug),
        )
    for key in _INSTALL_KEYS:
        if key in entry:
            raise ConfigError(
                source,
                f"{where}.{key}",
                f"no {key} of its own (every desk shares the top-level [desk] {key})",
                repr(entry[key]),
            )
    merged = dict(top)
    own = {k: v for k, v in entry.items() if k not in _DESK_TABLES}
    merged["desk"] = {**top.get("desk", {}), **own}
    for name, how in _DESK_TABLES.items():
        if name not in entry:
            continue
        mine, theirs = entry[name], top.get(name)
        if how == "merge" and isinstance(mine, dict) and isinstance(theirs, dict):
            merged[name] = {**theirs, **mine}
        elif how == "union" and isinstance(mine, list) and isinstance(theirs, list):
            emails = {str(m.get("email", "")).lower() for m in mine if isinstance(m, dict)}
            merged[name] = mine + [
                t for t in theirs if str(t.get("email", "")).lower() not in emails
            ]
        else:
            merged[name] = mine
    try:
        config = _config(
            merged,
            source,
            base_dir,
            env_scope=f"desks_{slug.replace('-', '_')}",
            label=f"{source}: {where} ({slug})",
            own={
                "desk": set(own),
                **{n: set(t) for n, t in entry.items() if n in _SECTIONS and isinstance(t, dict)},
            },
        )
    except ConfigError as exc:
        key = exc.key.removeprefix("desk.") if exc.key.startswith("desk.") else exc.key
        raise ConfigError(exc.source, f"{where}.{key}", exc.expected, exc.got) from None
    desk = dataclasses.replace(
        config.desk,
        database=shared.desk.database,
        data_dir=str(Path(shared.desk.data_dir) / slug),
    )
    return dataclasses.replace(config, desk=desk, shared_data_dir=shared.desk.data_dir)


def _check_distinct(desks: tuple[Config, ...], source: str) -> None:
    """Slugs, addresses, mailboxes and status-page hosts each belong to one desk."""
    seen: dict[tuple[str, object], int] = {}
    for i, config in enumerate(desks):
        imap = config.imap
        keys: list[tuple[str, object]] = [
            ("slug", config.desk.slug),
            ("address", config.desk.address.lower()),
            ("base_url", urlsplit(config.desk.base_url).hostname),
        ]
        if imap is not None:
            keys.append(("imap.username", (imap.host, imap.port, imap.username, imap.folder)))
        for key, value in keys:
            if (key, value) in seen:
                raise ConfigError(
                    source,
                    f"desks[{i}].{key}",
                    f"one of its own (desks[{seen[key, value]}] has it"
                    + ("; status links are told apart by host)" if key == "base_url" else ")"),
                    repr(value),
                )
            seen[key, value] = i


def _written_teams(data: Mapping[str, Any], config: Config) -> dict[str, str]:
    """The teams the operator wrote (file or environment), by key, for `_check_teams`."""
    written = {f"routes[{i}].team": route.team for i, route in enumerate(config.routes)}
    for name in data.get("categories", {}):
        if config.categories[name].team:
            written[f"categories.{name}.team"] = config.categories[name].team
    if "default_team" in data.get("desk", {}) or f"{ENV_PREFIX}DESK_DEFAULT_TEAM" in os.environ:
        written["desk.default_team"] = config.desk.default_team
    return written


def with_secret(config: Config) -> Config:
    """Fill in a missing `secret_key` from `<data_dir>/secret.key`, creating it once;
    warn about a weak configured one.

    The embedded defaults need a stable secret (signed addresses must still verify
    after a restart) without asking the operator for one.
    """
    if config.desk.secret_key:
        keyfile.warn_if_weak(config.desk.secret_key, source=config.source)
        return config
    secret = keyfile.read_or_create(config.data_path / "secret.key")
    return dataclasses.replace(config, desk=dataclasses.replace(config.desk, secret_key=secret))
