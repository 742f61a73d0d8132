"""No data leaves the machine unasked: Chroma telemetry off, LangSmith tracing off unless an
admin turned it on, the model hub offline, and an engine that answers with the network cut."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import chromadb
import pytest

from bot.answering.engine import Engine, build_engine
from bot.models import Status
from bot.settings import Settings
from knowledge import index as knowledge_index
from knowledge.index import make_client

ROOT = Path(__file__).resolve().parents[2]
LOCAL_VARIABLES = (
    "ANONYMIZED_TELEMETRY",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "LANGCHAIN_TRACING_V2",
    "LANGSMITH_TRACING",
)
PROBE = (
    "import json, os; from bot.answering.engine import keep_data_local; keep_data_local(); "
    "import huggingface_hub.constants as hub; "
    f"env = {{k: os.environ.get(k) for k in {LOCAL_VARIABLES!r}}}; "
    "print(json.dumps({'env': env, 'hub_offline': hub.HF_HUB_OFFLINE}))"
)


def probe(**env: str) -> dict[str, Any]:
    """keep_data_local() in a fresh interpreter whose environment sets only ``env``."""
    clean = {k: v for k, v in os.environ.items() if k not in LOCAL_VARIABLES} | env
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=clean,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout)


def test_tracing_is_off_and_the_hub_offline_by_default() -> None:
    seen = probe()
    assert seen["env"]["LANGSMITH_TRACING"] == "false"
    assert seen["env"]["LANGCHAIN_TRACING_V2"] == "false"
    assert seen["env"]["ANONYMIZED_TELEMETRY"] == "False"
    assert seen["env"]["HF_HUB_OFFLINE"] == "1" and seen["hub_offline"] is True


def test_tracing_stays_on_only_when_an_admin_set_it() -> None:
    seen = probe(LANGSMITH_TRACING="true", ANONYMIZED_TELEMETRY="True")
    assert seen["env"]["LANGSMITH_TRACING"] == "true"
    assert seen["env"]["ANONYMIZED_TELEMETRY"] == "False"  # Chroma's is never the admin's call


def test_both_chroma_clients_have_telemetry_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = make_client(index_dir=tmp_path, chroma_url=None)
    assert local.get_settings().anonymized_telemetry is False

    made: list[chromadb.config.Settings] = []
    monkeypatch.setattr(
        knowledge_index.chromadb, "HttpClient", lambda **kw: made.append(kw["settings"])
    )
    make_client(index_dir=tmp_path, chroma_url="http://127.0.0.1:8000")
    assert [s.anonymized_telemetry for s in made] == [False]


def _is_local(host: object) -> bool:
    if host in ("localhost", None, ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Refuse every connection and name lookup that is not loopback; record the attempts."""
    attempts: list[object] = []
    connect, connect_ex, getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def guarded(original: Any) -> Any:
        def call(self: socket.socket, address: Any) -> Any:
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
                attempts.append(address)
                raise ConnectionRefusedError(f"test: no network ({address!r})")
            return original(self, address)

        return call

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host if isinstance(host, str) else None):
            attempts.append(host)
            raise socket.gaierror(f"test: no network ({host!r})")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    return attempts


def test_an_engine_built_without_network_answers(engine: Engine, no_network: list[object]) -> None:
    with pytest.raises(OSError):  # the guard holds
        socket.create_connection(("203.0.113.1", 443), timeout=1)
    no_network.clear()
    # A new engine on the session's index: the model loads and Chroma opens under the guard.
    offline = build_engine(Settings(data_dir=engine.settings.data_dir, _env_file=None))
    answer = offline.answerer.answer("Can I paste a customer's HKID number into ChatGPT?")
    assert answer.status is Status.ANSWERED and answer.citations
    assert no_network == []
