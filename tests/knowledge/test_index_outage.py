"""A Chroma outage is not an empty index: the loaded version keeps answering, ingest waits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.server import ServerContext, create_app
from bot.assembly import build_assistant
from knowledge.index import IndexUnavailable
from tests.scaleout.cluster import chroma_args, chroma_command, free_port, wait_chroma

pytestmark = pytest.mark.skipif(chroma_command() is None, reason="no `chroma` command")

POLICY = """---
title: Remote Work Policy
---
# Remote Work Policy

## Equipment
Staff working from home receive a laptop and a monitor from the IT desk.

## Hours
Core hours are 10:00 to 16:00 on working days.
"""


@pytest.fixture
def chroma_server(tmp_path: Path):
    port = free_port()
    process = subprocess.Popen(
        [chroma_command(), *chroma_args(str(tmp_path / "chroma"), "127.0.0.1", port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_chroma(port, process)
    yield process, f"http://127.0.0.1:{port}"
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


async def test_an_outage_keeps_the_last_version_and_stops_ingest(
    make_engine, chroma_server, tmp_path: Path
):
    process, url = chroma_server
    sources = tmp_path / "policies"
    sources.mkdir()
    (sources / "remote.md").write_text(POLICY)
    engine = make_engine(chroma_url=url, sources=[sources])
    engine.ingest()
    assert engine.index.search("Who gives me a laptop for home?")

    process.terminate()
    process.wait(timeout=30)
    engine.index.refresh()

    hits = engine.index.search("Who gives me a laptop for home?")
    assert hits and hits[0].chunk.section.endswith("Equipment"), "still the loaded version"
    assert engine.index.outage is not None
    with pytest.raises(IndexUnavailable, match="POLICYBOT_CHROMA_URL"):
        engine.ingest()

    context = ServerContext(
        settings=engine.settings, engine=engine, assistant=build_assistant(engine)
    )
    async with TestClient(TestServer(create_app(context))) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["index"].startswith("degraded")
