"""A staff proof is for the ticket acted on, from the address it was signed for, and expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maildesk import signing
from maildesk.config import Config, load
from maildesk.errors import ConfigError
from maildesk.inbound.parse import parse_mail
from maildesk.inbound.staffauth import check
from tests.mails import make_mail

DESK = "soporte@alameda.example"
ANA = "ana@alameda.example"
SENT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "maildesk.toml"
    path.write_text(
        f"""
[desk]
address = "{DESK}"
secret_key = "a-long-and-random-enough-secret-key-for-tests"
trusted_authserv_ids = ["mx.alameda.example"]
staff_reply_days = 10

[[staff]]
email = "{ANA}"
name = "Ana Pérez"
""",
        encoding="utf-8",
    )
    return load(path)


def proven(config: Config, to: str, *, ticket: int | None, now: datetime) -> bool:
    mail = parse_mail(make_mail(sender=ANA, to=to, subject=f"Re: [#{ticket}] Fuga", body="#tomar"))
    return check(mail, recipients=[to], config=config, ticket_number=ticket, now=now).proven


def test_the_signed_address_proves_its_own_ticket_until_it_expires(config: Config) -> None:
    """Ana's address for ticket 2 proves her reply on ticket 2, on ticket 3 never, and not after 10 days."""
    secret = config.desk.secret_key
    address = signing.staff_reply_address(DESK, 2, secret, ANA, now=SENT, days=10)
    assert proven(config, address, ticket=2, now=SENT + timedelta(days=10))
    assert not proven(config, address, ticket=3, now=SENT)
    assert not proven(config, address, ticket=None, now=SENT)
    assert not proven(config, address, ticket=2, now=SENT + timedelta(days=11))


def test_a_dmarc_fail_refuses_even_a_dkim_pass_of_another_domain(config: Config) -> None:
    """The trusted server says DMARC failed for alameda.example: a DKIM pass for evil.example proves nothing."""
    header = "mx.alameda.example; dmarc=fail header.from=alameda.example; dkim=pass header.d=evil.example"
    mail = parse_mail(make_mail(sender=ANA, headers={"Authentication-Results": header}))
    assert not check(mail, recipients=[DESK], config=config, ticket_number=1, now=SENT).proven
    header = "mx.alameda.example; dkim=pass header.d=alameda.example"
    mail = parse_mail(make_mail(sender=ANA, headers={"Authentication-Results": header}))
    assert check(mail, recipients=[DESK], config=config, ticket_number=1, now=SENT).proven


@pytest.mark.parametrize("value", ["0", "-3", '"30d"'])
def test_a_bad_staff_reply_days_names_file_and_key(tmp_path: Path, value: str) -> None:
    """`desk.staff_reply_days` must be a whole number of days, 1 or more."""
    path = tmp_path / "maildesk.toml"
    path.write_text(f"[desk]\nstaff_reply_days = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert (raised.value.source, raised.value.key) == (str(path), "desk.staff_reply_days")
