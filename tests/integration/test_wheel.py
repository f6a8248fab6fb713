"""The built wheel carries everything: every mail template and page renders from an installed wheel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

CHECK = r"""
import sys
from pathlib import Path
import maildesk
assert maildesk.__file__.startswith(sys.argv[1]), maildesk.__file__
from importlib.resources import files
from maildesk import config
from maildesk.outbound import compose
from maildesk.outbound.linked_files import LinkedFile
from maildesk.context import open_desk
from maildesk.inbound.accept import accept
from maildesk.web import create_app

root = files("maildesk.mail_templates")
kinds = sorted({p.name.split(".")[0] for p in root.joinpath("es").iterdir() if p.name.endswith(".j2") and not p.name.startswith("_")})
row = {"number": 7, "subject": "Ñandú", "priority": "alta", "state": "Recibida", "assignee": "", "team": "mantenimiento",
       "level": "supervisor", "target": "first_response", "used": 120, "late_minutes": 20, "late_h": 1.5,
       "age_h": 30.0, "history": [("2026-11-23 10:00", "a@b.example", "created")],
       "reply_to": "soporte+7-abc@alameda.example"}
base = {"number": 7, "subject": "Ñandú en el ascensor", "tagged_subject": "[#7] Ñandú en el ascensor",
        "status_url": "https://x.example/t/abc", "requester_name": "José", "desk_name": "Edificio Ñuñoa",
        "tag": "[#7]", "count": 1}
samples = {
    "confirmation": {"summary": "Línea 1\nLínea 2", "expected": "24 nov 2026, 10:00", "hours": "lunes a viernes", "suggestions": [{"title": "Uso de los ascensores", "url": "https://s.example/kb/es/ascensores", "snippet": "Se revisan cada mes."}]},
    "rate_limit": {"address": "a@b.example", "count": 11},
    "staff_notice": {"notice": "new", "text": "Hay una fuga", "attachments": ["foto.jpg"], "requester_email": "r@x.example",
                     "unit": "depto 402", "category": "mantenimiento", "priority": "alta", "state": "Recibida",
                     "team": "mantenimiento", "assignee": None, "actor": "", "commands": [("#tomar", "toma")],
                     "directory_unit": "Torre Ñandú 402", "other_unit": "depto 403", "relation": "tenant",
                     "channel": "correo", "type": "Reclamo", "hint": "Adjunte una foto", "starts_on": "1 dic 2026",
                     "deadline": "5 dic 2026", "cause": "Desgaste", "text_cut": False,
                     "console_url": "https://x.example/staff/t/7",
                     "due": [("first_response", "24 nov 2026, 10:00", "due"), ("resolution", "", "met")]},
    "staff_reply": {"text": "Vamos mañana", "staff_name": "Ana", "state_note": "resolved"},
    "state_change": {"change": "taken", "note": "nota", "staff_name": "Ana"},
    "command_error": {"problems": [("#volar", "unknown_command", "")], "problem_text": {"unknown_command": "Desconocido"},
                      "commands": [("#tomar", "toma")]},
    "vendor_request": {"message": "¿Pueden venir?", "unit": "depto 402", "text": "Fuga", "attachments": ["f.jpg"]},
    "status_link": {},
    "confirm_on_page": {},
    "requests_link": {"url": "https://x.example/mis-solicitudes/abc", "count": 2, "hours": 24},
    "web_request": {"title": "Ñandú en el ascensor", "name": "José", "url": "https://x.example/nueva/confirmar/abc", "hours": 24},
    "staff_unproven": {"kept": True, "console_url": "https://x.example/staff/t/7", "days": 30},
    "staff_elsewhere": {"building": "Torre Sur", "their_building": "Torre Norte"},
    "staff_link": {"name": "Ana Pérez", "url": "https://x.example/staff/entrar/abc", "minutes": 15},
    "escalation": {"rows": [row]},
    "alerts": {"rows": [row]},
    "digest": {"period": "monthly", "start": "2026-11-01", "end": "2026-11-30", "backlog": [("recibido", 2)],
               "overdue": [row], "overdue_count": 1, "worst": [row],
               "charts": [{"cid": "volume@maildesk", "filename": "volume.png", "title": "Volumen"}],
               "f": {"opened": 2, "resolved": 1, "closed": 1, "first_response_sla_pct": 50.0,
                     "resolution_sla_pct": None, "first_response_median_h": 1.0, "resolution_median_h": 5.0}},
    "digest_buildings": {"period": "daily", "opened": 2, "closed": 1, "overdue_count": 1, "sections": [
        {"building": "Torre Ñandú", "start": "2026-11-23", "end": "2026-11-23", "backlog": [("recibido", 2)],
         "overdue": [row], "overdue_count": 1, "worst": [row], "charts": [],
         "f": {"opened": 2, "resolved": 1, "closed": 1, "first_response_sla_pct": 50.0,
               "resolution_sla_pct": None, "first_response_median_h": 1.0, "resolution_median_h": 5.0}}]},
}
rendered = 0
for language in ("es", "en"):
    names = sorted(p.name for p in root.joinpath(language).iterdir() if p.name.endswith(".j2"))
    parts = ["_linked_files.txt.j2"]  # the list of files too large to attach, after any text
    assert sorted(parts + [f"{k}.{part}.j2" for k in kinds for part in ("subject", "txt", "html")]) == names, (language, names)
    linked = [LinkedFile("plano_ñandú.pdf", "6.0 MB", "https://x.example/t/abc/a/1")]
    out = compose.render("staff_reply", language, {**base, **samples["staff_reply"], "language": language}, linked)
    assert "- plano_ñandú.pdf (6.0 MB): https://x.example/t/abc/a/1" in out.text and "plano_ñandú.pdf" in out.html
    for kind in kinds:
        out = compose.render(kind, language, {**base, **samples[kind], "language": language})
        assert out.subject and out.text.strip() and "<html" in out.html, (language, kind)
        rendered += 1
desk = open_desk(config.load(Path(sys.argv[2])), upgrade=True)
accept(desk, b"From: Ana <ana@x.example>\r\nTo: soporte@alameda.example\r\nSubject: =?utf-8?q?Port=C3=B3n?=\r\nMessage-ID: <w@x>\r\n\r\nNo abre.\r\n", source="pipe")
from sqlalchemy import select
from maildesk.models import Ticket
with desk.db.read_only() as s:
    token = s.scalars(select(Ticket.status_token)).one()
from maildesk.kb.index import kb_root, sync_desk
(kb_root(desk) / "es").mkdir(parents=True)
(kb_root(desk) / "es" / "porton.md").write_text("# Portón\n\nSe abre con el **control**.\n", encoding="utf-8")
sync_desk(desk)
client = create_app(desk).test_client()
for url in ("/", f"/t/{token}", "/healthz", "/static/style.css", "/staff/", "/kb/es/porton"):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
assert "Portón" in client.get(f"/t/{token}").get_data(as_text=True)
assert "<strong>control</strong>" in client.get("/kb/es/porton").get_data(as_text=True)
print(f"ok {rendered} mail templates, 6 pages")
"""


def test_every_template_renders_from_an_installed_wheel(tmp_path: Path) -> None:
    """Build the wheel without setuptools warnings, install it alone into a folder, and render every template and page from there."""
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--verbose",  # shows the build backend's warnings
            "--no-deps",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    ignored = [
        line
        for line in (build.stdout + build.stderr).splitlines()
        if "Package would be ignored" in line
    ]
    assert not ignored, f"{len(ignored)} setuptools warnings, first: {ignored[0]}"
    [wheel] = wheels.glob("maildesk-*.whl")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    config = tmp_path / "maildesk.toml"
    config.write_text(
        f'[desk]\naddress = "soporte@alameda.example"\ndatabase = "sqlite:///{tmp_path}/w.db"\n'
        f'data_dir = "{tmp_path}/data"\nsecret_key = "k"\n'
    )
    script = tmp_path / "check.py"
    script.write_text(CHECK)
    done = subprocess.run(
        [sys.executable, str(script), str(target), str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok ") and "6 pages" in done.stdout
