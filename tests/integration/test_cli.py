"""The `maildesk` command as an operator runs it: real processes, real exit codes."""

from __future__ import annotations

import email
import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
from email.policy import default
from pathlib import Path

import pytest

from tests.conftest import DeskFactory
from tests.daemons import embedded_daemon
from tests.mails import DESK, make_mail
from tests.servers import free_port

pytestmark = pytest.mark.integration


def maildesk(
    *args: str, cwd: Path, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "maildesk", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode(), result.stderr.decode()
    )


def test_init_then_ingest_then_list_and_show(tmp_path: Path) -> None:
    """init writes a commented config and a database; a piped mail shows up in list and show, as table and JSON."""
    done = maildesk("init", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "maildesk.toml").read_text()
    assert "# maildesk configuration" in text and "MAILDESK_IMAP_PASSWORD" in text
    assert (tmp_path / "maildesk.db").exists()
    config = str(tmp_path / "maildesk.toml")
    raw = make_mail(
        to="soporte@example.org",
        subject="Ruido en el depto 301 — ¿qué hago?",
        attachments=[("grabación.m4a", "audio/mp4", b"\x00\x01audio")],
    )
    done = maildesk("--config", config, "ingest", cwd=tmp_path, stdin=raw)
    assert done.returncode == 0, done.stderr
    listed = json.loads(
        maildesk("--config", config, "ticket", "list", "--format", "json", cwd=tmp_path).stdout
    )
    assert [(t["number"], t["subject"], t["state"], t["requester"]) for t in listed] == [
        (1, "Ruido en el depto 301 — ¿qué hago?", "recibido", "vecina@correo.example")
    ]
    table = maildesk("--config", config, "ticket", "list", cwd=tmp_path).stdout
    assert "Ruido en el depto 301" in table and "number" in table
    shown = json.loads(
        maildesk("--config", config, "ticket", "show", "1", "--format", "json", cwd=tmp_path).stdout
    )
    assert set(shown) >= {
        "number",
        "subject",
        "state",
        "priority",
        "category",
        "requester",
        "assignee",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "messages",
        "events",
        "status_url",
    }
    inbound, outbound = shown["messages"]
    assert (inbound["direction"], inbound["public"], inbound["sender"]) == (
        "inbound",
        True,
        "vecina@correo.example",
    )
    assert inbound["attachments"][0]["filename"] == "grabación.m4a"
    assert outbound["kind"] == "confirmation" and outbound["direction"] == "outbound"
    assert [e["kind"] for e in shown["events"]][:2] == ["created", "message"]
    text_view = maildesk("--config", config, "ticket", "show", "1", cwd=tmp_path).stdout
    assert "#1 Ruido en el depto 301" in text_view and "grabación.m4a" in text_view
    assert maildesk("--config", config, "ticket", "show", "9", cwd=tmp_path).returncode == 1
    assert maildesk("--config", config, "outbox", "send", "--once", cwd=tmp_path).stdout.startswith(
        "sent 1"
    )
    [eml] = (tmp_path / "data" / "outbox").glob("*.eml")
    assert (
        email.message_from_bytes(eml.read_bytes(), policy=default)["Subject"]
        == "[#1] Ruido en el depto 301 — ¿qué hago?"
    )


def test_dry_run_explains_and_writes_nothing(make_desk: DeskFactory, tmp_path: Path) -> None:
    """ingest --dry-run says which ticket a mail would join and why, and stores nothing."""
    desk = make_desk()
    config = str(tmp_path / "maildesk.toml")
    assert maildesk("--config", config, "ingest", cwd=tmp_path, stdin=make_mail()).returncode == 0
    reply = make_mail(subject="RE: [#1] Fuga de agua", body="Más datos")
    path = tmp_path / "reply.eml"
    path.write_bytes(reply)
    done = maildesk("--config", config, "ingest", "--dry-run", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    verdict = json.loads(done.stdout)
    assert (
        verdict["ticket"] == 1
        and verdict["signal"] == "subject-tag"
        and verdict["action"] == "append to ticket 1"
    )
    assert "1" in verdict["why"]
    listed = json.loads(
        maildesk("--config", config, "ticket", "show", "1", "--format", "json", cwd=tmp_path).stdout
    )
    assert len([m for m in listed["messages"] if m["direction"] == "inbound"]) == 1
    assert desk.db.ping()


def test_config_error_exits_before_touching_the_mailbox(tmp_path: Path) -> None:
    """A bad key stops `fetch` with file, key and expectation, and no connection reaches the IMAP server."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    port = server.getsockname()[1]
    config = tmp_path / "maildesk.toml"
    config.write_text(
        f'[imap]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\npoll_seconds = "often"\n'
    )
    done = maildesk("--config", str(config), "fetch", "--once", cwd=tmp_path)
    assert done.returncode == 1
    assert (
        str(config) in done.stderr
        and "imap.poll_seconds" in done.stderr
        and "expected an integer" in done.stderr
    )
    with pytest.raises(BlockingIOError):
        server.accept()
    server.close()


def test_ingest_exits_75_when_the_database_is_down(tmp_path: Path) -> None:
    """An MTA pipe gets EX_TEMPFAIL when the mail cannot be stored, so it keeps and retries it."""
    config = tmp_path / "maildesk.toml"
    config.write_text(
        f'[desk]\ndatabase = "postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"\nsecret_key = "k"\n'
    )
    done = maildesk("--config", str(config), "ingest", cwd=tmp_path, stdin=make_mail())
    assert done.returncode == 75, done.stderr


def test_quarantine_list_and_retry(make_desk: DeskFactory, tmp_path: Path) -> None:
    """Quarantined mail is listed with its reason and the command to re-import it, which works."""
    desk = make_desk()
    from maildesk.inbound import store as ingest

    with desk.db.transaction() as session:
        stored = ingest.store(
            session, desk_id=desk.desk_id, raw=make_mail(), source="pipe", now=desk.clock.now()
        )
        row = session.get(ingest.Inbound, stored.inbound_id)
        assert row is not None
        row.status, row.attempts, row.reason = (
            "quarantined",
            3,
            "failed 3 times: RuntimeError: boom",
        )
    config = str(tmp_path / "maildesk.toml")
    listed = json.loads(
        maildesk(
            "--config", config, "ticket", "list", "--quarantine", "--format", "json", cwd=tmp_path
        ).stdout
    )
    assert (
        listed[0]["reason"].endswith("boom")
        and listed[0]["retry"] == f"maildesk ingest --retry {stored.inbound_id}"
    )
    done = maildesk("--config", config, "ingest", "--retry", str(stored.inbound_id), cwd=tmp_path)
    assert done.returncode == 0 and "processed" in done.stdout, done.stderr
    assert (
        json.loads(
            maildesk(
                "--config",
                config,
                "ticket",
                "list",
                "--quarantine",
                "--format",
                "json",
                cwd=tmp_path,
            ).stdout
        )
        == []
    )


def test_ticket_open_for_a_phone_call(make_desk: DeskFactory, tmp_path: Path) -> None:
    """Staff open a ticket for a resident who phoned; the channel is recorded and a confirmation queued."""
    make_desk()
    config = str(tmp_path / "maildesk.toml")
    done = maildesk(
        "--config",
        config,
        "ticket",
        "open",
        "--for",
        "Vecino@Correo.example",
        "--name",
        "José Peña",
        "--subject",
        "Portón del estacionamiento no abre",
        "--text",
        "Llamó a las 9:00",
        "--channel",
        "phone",
        cwd=tmp_path,
    )
    assert done.returncode == 0 and "opened ticket 1" in done.stdout, done.stderr
    shown = json.loads(
        maildesk("--config", config, "ticket", "show", "1", "--format", "json", cwd=tmp_path).stdout
    )
    assert (shown["channel"], shown["requester"], shown["requester_name"]) == (
        "phone",
        "vecino@correo.example",
        "José Peña",
    )
    assert [m["kind"] for m in shown["messages"]] == ["normal", "confirmation"]


def test_ticket_open_with_a_type_and_a_medium(make_desk: DeskFactory, tmp_path: Path) -> None:
    """`ticket open --type --channel whatsapp` records both and prints the type's hint; an unknown type lists the valid ones; `ticket types` shows hints and deadlines."""
    make_desk(
        types={"reclamo": {"name": "Reclamo", "hint": "Indica la unidad.", "deadline": "5bd"}}
    )
    config = str(tmp_path / "maildesk.toml")
    base = ("--config", config, "ticket")
    opening = ("open", "--for", "vecino@correo.example", "--subject", "Ruidos")
    done = maildesk(*base, *opening, "--channel", "whatsapp", "--type", "reclamo", cwd=tmp_path)
    assert done.returncode == 0 and "Reclamo: Indica la unidad." in done.stdout, done.stderr
    shown = json.loads(maildesk(*base, "show", "1", "--format", "json", cwd=tmp_path).stdout)
    assert (shown["channel"], shown["type"], shown["deadline"], shown["cause"]) == (
        "whatsapp",
        "reclamo",
        None,
        None,
    )
    wrong = maildesk(*base, *opening, "--type", "mudanza", cwd=tmp_path)
    assert wrong.returncode == 1 and "--type: expected one of reclamo" in wrong.stderr
    fax = maildesk(*base, *opening, "--channel", "fax", cwd=tmp_path)
    assert fax.returncode == 1 and "--channel: expected one of email, phone" in fax.stderr
    listed = maildesk(*base, "types", cwd=tmp_path)
    assert (
        "reclamo" in listed.stdout
        and "5bd" in listed.stdout
        and "Indica la unidad." in listed.stdout
    )


def test_run_on_embedded_defaults(tmp_path: Path) -> None:
    """With no config at all, `run` listens for mail, writes the confirmation as .eml, serves the link, and stops on SIGTERM."""
    with embedded_daemon(tmp_path) as daemon:
        deadline = time.monotonic() + 30
        banner = daemon.wait_for("maildesk is running", deadline)
        assert "send a first mail" in banner and "data/outbox" in banner
        with smtplib.SMTP("127.0.0.1", daemon.smtp_port) as client:
            client.sendmail(
                "vecina@correo.example",
                ["soporte@localhost"],
                make_mail(to="soporte@localhost", subject="Luz del pasillo"),
            )
        outbox = tmp_path / "data" / "outbox"
        while not list(outbox.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        [eml] = outbox.glob("*.eml")
        confirmation = email.message_from_bytes(eml.read_bytes(), policy=default)
        assert confirmation["Subject"] == "[#1] Luz del pasillo"
        body = confirmation.get_body(("plain",))
        assert body is not None
        link = next(word for word in str(body.get_content()).split() if word.startswith("http://"))
        with urllib.request.urlopen(link, timeout=10) as page:
            html = page.read().decode()
            assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "Luz del pasillo" in html
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(30) == 0, daemon.log_text()
        assert "maildesk stopped" in daemon.log_text()
    assert (tmp_path / "maildesk.db").exists()
    assert DESK not in daemon.log_text()


def test_run_says_which_address_is_taken(tmp_path: Path) -> None:
    """A port already in use stops `run` with the key and the address, and nothing is left running."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    env = {
        "MAILDESK_CONFIG": str(tmp_path / "absent.toml"),
        "MAILDESK_LISTENER_LISTEN": f"127.0.0.1:{free_port()}",
        "MAILDESK_WEB_LISTEN": f"127.0.0.1:{port}",
    }
    done = maildesk("run", cwd=tmp_path, env=env)
    busy.close()
    assert done.returncode == 1
    assert f"web.listen: expected an address free to listen on, got 127.0.0.1:{port}" in done.stderr
    assert "maildesk stopped" in done.stderr
