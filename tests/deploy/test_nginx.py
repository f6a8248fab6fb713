"""deploy/nginx/maildesk.conf: a real nginx serves the pages over TLS, and the desk sees each
resident's own address only because `web.trusted_proxies` says to believe nginx.

The example is loaded as written, with its ports, upstream and certificate paths replaced
(a self-signed certificate from `openssl req -x509`), into an nginx running as a plain
process with everything in a temporary folder, in front of a real `maildesk run --only web`.
What the desk sees is read from its rate limit per client: two clients on different
loopback addresses share one limit unless X-Forwarded-For is believed.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import tomli_w

from maildesk.config_schema import default
from maildesk.web import READ_FACTOR
from tests.conftest import DeskFactory
from tests.servers import free_port, require_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "nginx" / "maildesk.conf"
HOST = "soporte.example.org"

MAIN = """\
# Written by tests/deploy/test_nginx.py: a throwaway nginx, everything under {root}.
daemon off;
worker_processes 1;
{user}
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/maildesk.conf;
}}
"""


def find_nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    require_server("nginx", "the reverse-proxy example is checked with it (apt-get install nginx)")


def derived(root: Path, *, https: int, http: int, upstream: int) -> str:
    """The example with this test's ports, upstream and certificate: nothing else changed."""
    text = EXAMPLE.read_text(encoding="utf-8")
    substitutions = [
        (r"listen \[::\]:\d+[^;]*;\n", ""),  # loopback IPv4 only here
        (r"listen 443 ", f"listen 127.0.0.1:{https} "),
        (r"listen 80;", f"listen 127.0.0.1:{http};"),
        (r"server 127\.0\.0\.1:8080;", f"server 127.0.0.1:{upstream};"),
        (r"/etc/letsencrypt/live/[^/]+/fullchain\.pem", str(root / "cert.pem")),
        (r"/etc/letsencrypt/live/[^/]+/privkey\.pem", str(root / "key.pem")),
    ]
    for pattern, value in substitutions:
        text, count = re.subn(pattern, value, text)
        assert count, f"the example no longer has {pattern!r}"
    return text


def self_signed(root: Path) -> None:
    openssl = shutil.which("openssl") or require_server("openssl", "it makes the test certificate")
    done = subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={HOST}",
            "-addext",
            f"subjectAltName=DNS:{HOST},IP:127.0.0.1",
            "-keyout",
            str(root / "key.pem"),
            "-out",
            str(root / "cert.pem"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text(errors="replace")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        assert time.monotonic() < deadline, log.read_text(errors="replace")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True, slots=True)
class Proxied:
    https: int
    http: int
    cert: Path


@pytest.fixture(params=[1, 0], ids=["trusted_proxies=1", "trusted_proxies=0"])
def proxied(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Proxied, int]]:
    """nginx from the example in front of `maildesk run --only web` with `trusted_proxies`
    1 or 0, and a lookup form that allows one post per client an hour."""
    nginx = find_nginx()
    trusted: int = request.param
    root = Path(os.path.realpath(tmp_path)) / "nginx"
    root.mkdir()
    self_signed(root)
    web, https, http = free_port(), free_port(), free_port()
    (root / "maildesk.conf").write_text(derived(root, https=https, http=http, upstream=web))
    # As root the workers would switch to `nobody`, who cannot enter pytest's folders.
    user = "user root root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(MAIN.format(root=root, user=user))
    config = tmp_path / "maildesk.toml"
    config.write_text(
        tomli_w.dumps(
            {
                "desk": {
                    "address": f"soporte@{HOST.split('.', 1)[1]}",
                    "base_url": f"https://{HOST}",
                    "database": f"sqlite:///{tmp_path / 'maildesk.db'}",
                    "data_dir": str(tmp_path / "data"),
                    "secret_key": "nginx-test-secret-0123456789-abcdefghijklmnop",
                },
                "web": {
                    "listen": f"127.0.0.1:{web}",
                    "trusted_proxies": trusted,
                    "lookup_per_client": "1 per hour",
                    "lookup_per_address": "100 per hour",
                },
            }
        ),
        encoding="utf-8",
    )
    desk_log = tmp_path / "maildesk.log"
    with desk_log.open("wb") as sink:
        desk = subprocess.Popen(
            [str(Path(sys.executable).with_name("maildesk")), "--config", str(config)]
            + ["run", "--only", "web"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    checked = subprocess.run(
        [
            nginx,
            "-t",
            "-p",
            str(root),
            "-c",
            str(root / "nginx.conf"),
            "-e",
            str(root / "error.log"),
        ],
        capture_output=True,
        text=True,
    )
    proxy: subprocess.Popen[bytes] | None = None
    try:
        assert checked.returncode == 0, checked.stderr
        proxy = subprocess.Popen(
            [nginx, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for_port(https, proxy, root / "error.log")
        wait_for_port(web, desk, desk_log)
        yield Proxied(https, http, root / "cert.pem"), trusted
    finally:
        if proxy is not None:
            stop(proxy)
        stop(desk)


class Client:
    """A browser on its own loopback address (127.0.0.N), talking HTTPS to nginx by name."""

    def __init__(self, proxied: Proxied, address: str) -> None:
        self.proxied, self.address = proxied, address
        self.cookie = ""

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        context = ssl.create_default_context(cafile=str(self.proxied.cert))
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            self.proxied.https,
            context=context,
            source_address=(self.address, 0),
            timeout=30,
        )
        sent = {"Host": HOST, **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        if body:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body or None, headers=sent)
            answer = connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
            got = {k.lower(): v for k, v in answer.getheaders()}
        finally:
            connection.close()
        if "set-cookie" in got:
            self.cookie = got["set-cookie"].split(";", 1)[0]
        return answer.status, got, text

    def ask_for_link(self, email: str, headers: dict[str, str] | None = None) -> int:
        """The lookup form, as a browser fills it: GET for the CSRF token, then POST."""
        status, _, page = self.request("GET", "/buscar")
        assert status == 200, page
        [token] = re.findall(r'name="csrf_token" value="([^"]+)"', page)
        form = urlencode({"csrf_token": token, "number": "7", "email": email})
        status, _, _ = self.request("POST", "/buscar", form, headers)
        return status


def test_nginx_serves_the_pages_over_tls_and_passes_the_client_address(
    proxied: tuple[Proxied, int],
) -> None:
    """Through nginx over verified TLS /healthz answers with HSTS; plain HTTP is redirected to
    https; and a second resident's post counts against their own limit, not the first one's,
    exactly when `web.trusted_proxies = 1` (a forged X-Forwarded-For does not escape it)."""
    front, trusted = proxied
    ana, beto = Client(front, "127.0.0.2"), Client(front, "127.0.0.3")
    status, headers, body = ana.request("GET", "/healthz")
    assert status == 200 and '"status":"ok"' in body.replace(" ", ""), body
    assert headers["strict-transport-security"].startswith("max-age=63072000")
    assert headers["x-frame-options"] == "DENY"  # the desk's own headers come through

    plain = http.client.HTTPConnection("127.0.0.1", front.http, timeout=10)
    plain.request("GET", "/healthz", headers={"Host": HOST})
    redirect = plain.getresponse()
    assert redirect.status == 301 and redirect.getheader("Location") == f"https://{HOST}/healthz"
    plain.close()

    assert ana.ask_for_link("ana@example.org") == 200
    assert ana.ask_for_link("ana@example.org", {"X-Forwarded-For": "10.9.9.9"}) == 429
    assert beto.ask_for_link("beto@example.org") == (200 if trusted else 429)


def test_nginx_body_limit_is_the_pages_read_limit() -> None:
    """client_max_body_size is what the page reads with the default web limits, so a reply
    with too many files reaches the page (which answers with its text) instead of nginx's 413."""
    [size] = re.findall(r"client_max_body_size (\d+)m;", EXAMPLE.read_text())
    files, mb = default("web", "max_files"), default("web", "max_attachment_mb")
    assert int(size) == READ_FACTOR * (files * mb + 1)


@pytest.mark.parametrize("trusted", [1, 0])
def test_waitress_passes_x_forwarded_for_to_the_page_when_trusted(
    make_desk: DeskFactory, trusted: int
) -> None:
    """Without nginx: the daemon's own waitress hands X-Forwarded-For on to the page when
    `web.trusted_proxies` is set (it drops it by default), so each forwarded client has its
    own limit; with 0 the header changes nothing."""
    from maildesk.web.serve import WebServer

    port = free_port()
    desk = make_desk(
        web={
            "listen": f"127.0.0.1:{port}",
            "trusted_proxies": trusted,
            "lookup_per_client": "1 per hour",
            "lookup_per_address": "100 per hour",
        }
    )
    server = WebServer((desk,))
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()

    def ask(forwarded_for: str, email: str) -> int:
        cookie, sent = "", {"X-Forwarded-For": forwarded_for}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("GET", "/buscar", headers=sent)
            answer = connection.getresponse()
            page = answer.read().decode()
            cookie = (answer.getheader("Set-Cookie") or "").split(";", 1)[0]
            [token] = re.findall(r'name="csrf_token" value="([^"]+)"', page)
            form = urlencode({"csrf_token": token, "number": "7", "email": email})
            connection.request(
                "POST",
                "/buscar",
                body=form,
                headers={
                    **sent,
                    "Cookie": cookie,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            posted = connection.getresponse()
            posted.read()
            return posted.status
        finally:
            connection.close()

    try:
        assert ask("198.51.100.7", "ana@example.org") == 200
        assert ask("198.51.100.7", "ana@example.org") == 429
        assert ask("198.51.100.8", "beto@example.org") == (200 if trusted else 429)
    finally:
        server.close()
        thread.join(timeout=5)
