"""The configuration: defaults, environment overrides, and errors that name file, key and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from maildesk.config import Duration, load, with_secret
from maildesk.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "maildesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without any file, the listener is on and there is no mailbox or relay."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILDESK_CONFIG", raising=False)
    config = load()
    assert config.source == "(embedded defaults)"
    assert config.listener is not None and config.listener.listen == "127.0.0.1:2525"
    assert config.imap is None
    assert config.smtp.host == ""
    assert config.web.listen == "127.0.0.1:8080"
    assert config.database_url == f"sqlite:///{tmp_path / 'maildesk.db'}"


def test_full_file_is_read(tmp_path: Path) -> None:
    """Every section of interface.md is read with its types."""
    path = write(
        tmp_path,
        """
[desk]
name = "Edificio Alameda — Soporte"
address = "soporte@example.org"
language = "en"
database = "postgresql+psycopg://u@h/db"
[imap]
host = "imap.example.org"
port = 143
security = "starttls"
idle = false
[smtp]
host = "smtp.example.org"
[[staff]]
email = "ana@example.org"
name = "Ana Pérez"
role = "supervisor"
teams = ["mantenimiento", "administración"]
[priorities.alta]
first_response = "30m"
resolution = "8bh"
""",
    )
    config = load(path)
    assert config.desk.name == "Edificio Alameda — Soporte"
    assert config.desk.language == "en"
    assert config.imap is not None and config.imap.port == 143 and config.imap.idle is False
    assert config.listener is None
    assert config.staff[0].teams == ("mantenimiento", "administración")
    assert config.staff_member("ANA@example.org") is config.staff[0]
    assert config.priorities["alta"].first_response == Duration(1800)
    assert config.priorities["alta"].resolution == Duration(8 * 3600, business=True)
    assert config.priorities["baja"].resolution.seconds == 7 * 86400


def test_environment_overrides_every_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MAILDESK_<SECTION>_<KEY> wins over the file, converted to the key's type."""
    path = write(tmp_path, '[imap]\nhost = "imap.example.org"\npassword = "in-file"\n')
    monkeypatch.setenv("MAILDESK_IMAP_PASSWORD", "from-env")
    monkeypatch.setenv("MAILDESK_IMAP_PORT", "10993")
    monkeypatch.setenv("MAILDESK_IMAP_IDLE", "false")
    monkeypatch.setenv("MAILDESK_DESK_SECRET_KEY", "s3cret")
    monkeypatch.setenv("MAILDESK_PRIORITIES_ALTA_RESOLUTION", "2bd")
    config = load(path)
    assert config.imap is not None
    assert (config.imap.password, config.imap.port, config.imap.idle) == ("from-env", 10993, False)
    assert config.desk.secret_key == "s3cret"
    assert config.priorities["alta"].resolution == Duration(2 * 86400, business=True)


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[imap]\nhost = 'h'\nport = 'abc'\n", "imap.port", "an integer"),
        ("[imap]\nhost = 'h'\nsecurity = 'tls'\n", "imap.security", '"ssl", "starttls", "none"'),
        ("[desk]\nlanguage = 'fr'\n", "desk.language", '"es", "en"'),
        ("[desk]\naddress = 'nobody'\n", "desk.address", "an email address"),
        ("[desk]\ntimezone = 'Mars/Olympus'\n", "desk.timezone", "IANA time zone"),
        ("[desk]\ndatabase = 'mysql://x'\n", "desk.database", "sqlite:///"),
        ("[desk]\nadress = 'typo@x.org'\n", "desk.adress", "known keys"),
        ("[dsk]\nname = 'x'\n", "dsk", "sections"),
        ("[web]\nlisten = '8080'\n", "web.listen", "host:port"),
        ("[escalation]\ndigest_monthly = 'lun 08:00'\n", "escalation.digest_monthly", '"1 08:00"'),
        ("[escalation]\ndigest_monthly = '32 08:00'\n", "escalation.digest_monthly", "1 to 31"),
        ("[escalation]\ndigest_monthly = '1 8am'\n", "escalation.digest_monthly", '"1 08:00"'),
        (
            "[priorities.alta]\nfirst_response = 'soon'\nresolution = '8h'\n",
            "priorities.alta.first_response",
            "duration",
        ),
        ("[priorities.alta]\nresolution = '8h'\n", "priorities.alta.first_response", "required"),
        ("[[staff]]\nname = 'Ana'\n", "staff[0].email", "required"),
        ("[[staff]]\nemail = 'ana@x.org'\nrole = 'boss'\n", "staff[0].role", '"agent"'),
        ("[imap]\nidle = 'yes'\nhost = 'h'\n", "imap.idle", "true or false"),
        ("[web]\ntrusted_proxies = -1\n", "web.trusted_proxies", "reverse proxies"),
        ("[web]\ntrusted_proxies = 'nginx'\n", "web.trusted_proxies", "integer"),
        ("[web]\nrequest_hours = 0\n", "web.request_hours", "1 to 720"),
        ("[desk\nname = 'x'\n", "(syntax)", "valid TOML"),
        ("[limits]\nfiles = 0\n", "limits.files", "1 or more"),
        ("[limits]\nkeep_sent_days = -1\n", "limits.keep_sent_days", "0 or more"),
        ("[limits]\nparse_seconds = 'soon'\n", "limits.parse_seconds", "an integer"),
        ("[web]\nreply_per_ticket = 'many'\n", "web.reply_per_ticket", "10 per hour"),
        ("[web]\nrate_limit_storage = 'redis:6379'\n", "web.rate_limit_storage", "redis://host"),
        ("[web]\nrate_limit_storage = 'memcached://h:1'\n", "web.rate_limit_storage", "memory://"),
        ("[imap]\nhost = 'h'\nlease_seconds = 1\n", "imap.lease_seconds", "5 to 3600"),
    ],
)
def test_errors_name_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    """A broken config names the file, the key and what was expected."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert info.value.key == key
    assert expected in message


def test_bad_environment_value_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An override that does not parse names the environment variable, not the file."""
    monkeypatch.setenv("MAILDESK_SMTP_PORT", "lots")
    with pytest.raises(ConfigError, match=r"\$MAILDESK_SMTP_PORT: smtp.port: expected an integer"):
        load(write(tmp_path, ""))


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    """--config pointing nowhere is an error, not a silent fallback to defaults."""
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "nope.toml")


def test_secret_is_created_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no secret_key, one is generated under data_dir and reused after a restart."""
    path = write(tmp_path, f'[desk]\ndata_dir = "{tmp_path / "d"}"\n')
    first = with_secret(load(path)).desk.secret_key
    second = with_secret(load(path)).desk.secret_key
    assert len(first) >= 40 and first == second
    assert (tmp_path / "d" / "secret.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("text", "seconds", "business"),
    [
        ("30s", 30, False),
        ("15m", 900, False),
        ("8h", 28800, False),
        ("2d", 172800, False),
        ("8bh", 28800, True),
        ("2bd", 172800, True),
    ],
)
def test_durations(text: str, seconds: int, business: bool) -> None:
    """Durations as interface.md writes them."""
    assert Duration.parse(text) == Duration(seconds, business)


def test_bad_duration_raises() -> None:
    """A duration without unit is refused."""
    with pytest.raises(ValueError):
        Duration.parse("8")
