"""The shipped deploy/nginx.conf, run by Debian's nginx on loopback in front of the console.

Only the upstream servers, the listening address and nginx's own paths are rewritten; every
proxy directive is the shipped one. Skipped when no nginx binary is installed.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from adapters.web.accounts import Role
from adapters.web.settings import WebSettings
from tests.adapters.web.conftest import PASSWORD, StartConsole
from tests.scaleout.cluster import REPO

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if Path(p).exists()), None
)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_config(upstream_port: int, listen_port: int, prefix: Path) -> str:
    """deploy/nginx.conf with loopback addresses and nginx's files under ``prefix``."""
    shipped = (REPO / "deploy" / "nginx.conf").read_text()
    config, upstreams = re.subn(
        r"(upstream policybot \{)[^}]*\}",
        rf"\1 server 127.0.0.1:{upstream_port}; }}",
        shipped,
    )
    config, listens = re.subn(r"listen 8080;", f"listen 127.0.0.1:{listen_port};", config)
    assert upstreams == 1 and listens == 1, "deploy/nginx.conf changed shape"
    paths = "\n".join(
        f"    {name}_temp_path {prefix / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"pid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'};\n" + config.replace(
        "http {", f"http {{\n    access_log {prefix / 'access.log'};\n{paths}", 1
    )


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator:
    processes = []

    def start(upstream_port: int) -> int:
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        prefix.chmod(0o777)
        port = free_port()
        (prefix / "nginx.conf").write_text(local_config(upstream_port, port, prefix))
        process = subprocess.Popen(
            [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
            stderr=subprocess.PIPE,
        )
        processes.append(process)
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return port
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode())
            time.sleep(0.1)
        raise AssertionError("nginx did not start listening")

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


async def test_sign_in_and_a_form_work_through_the_shipped_nginx(
    start_console: StartConsole, nginx_in_front
):
    console = await start_console(web=WebSettings(_env_file=None, trusted_proxies="127.0.0.1"))
    console.add_user("ada", Role.ADMIN)
    port = nginx_in_front(console.client.port)
    site = f"http://127.0.0.1:{port}"

    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(site, cookie_jar=jar, headers={"Origin": site}) as browser:
        page = await (await browser.get("/console/signin")).text()
        token = _CSRF.search(page).group(1)
        signed_in = await browser.post(
            "/console/signin",
            data={"name": "ada", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        )
        assert signed_in.status == 303, await signed_in.text()
        assert signed_in.headers["Location"] == "/console/admin"
        admin = await browser.get("/console/admin")
        assert admin.status == 200

        page = await (await browser.get("/console/")).text()
        token = _CSRF.search(page).group(1)
        asked = await browser.post(
            "/console/ask", data={"question": "Can I use ChatGPT?", "csrf_token": token}
        )
        assert asked.status == 200, await asked.text()

        signed_out = await browser.post(
            "/console/signout", data={"csrf_token": token}, allow_redirects=False
        )
        assert signed_out.status == 303
