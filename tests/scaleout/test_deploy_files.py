"""deploy/ runs what the scale-out test runs: same entry points, arguments and settings.

The image and the compose file are not built here (no container daemon on CI); this keeps
them from drifting away from the commands :mod:`tests.scaleout.cluster` proves.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.scaleout.cluster import REPO, chroma_args, serve_args

DEPLOY = REPO / "deploy"
# What the scale-out cluster sets for every process, minus its test-only redirections.
SHARED_SETTINGS = {
    "POLICYBOT_CHROMA_URL",
    "POLICYBOT_DATABASE_URL",
    "POLICYBOT_DATA_DIR",
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "POLICYBOT_SLACK_SUPPORT_CHANNEL",
}


def services() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]


def test_the_replicas_run_policybot_serve_with_the_shared_settings() -> None:
    replicas = {name: s for name, s in services().items() if name.startswith("bot-")}

    assert len(replicas) == 2
    for replica in replicas.values():
        assert replica["command"] == ["policybot", *serve_args("0.0.0.0", 3978)]
        assert set(replica["environment"]) >= SHARED_SETTINGS
        assert replica["environment"]["POLICYBOT_CHROMA_URL"] == "http://chroma:8000"
        assert replica["environment"]["POLICYBOT_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_the_chroma_server_and_the_ingest_job_run_the_tests_commands() -> None:
    chroma, ingest = services()["chroma"], services()["ingest"]

    assert chroma["command"] == ["chroma", *chroma_args("/chroma", "0.0.0.0", 8000)]
    assert ingest["command"] == ["python", "ingest.py"]
    assert set(ingest["environment"]) >= SHARED_SETTINGS


def test_the_image_serves_on_all_interfaces_as_a_non_root_user_with_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)

    assert cmd is not None
    assert json.loads(cmd.group(1)) == ["policybot", *serve_args("0.0.0.0", 3978)]
    assert re.search(r"^USER policybot$", dockerfile, re.MULTILINE)
    assert "/healthz" in dockerfile.split("HEALTHCHECK", 1)[1]
    assert "torch==2.13.0" in dockerfile and "whl/cpu" in dockerfile


def test_the_proxy_balances_both_replicas() -> None:
    config = (DEPLOY / "nginx.conf").read_text()

    assert "server bot-1:3978" in config and "server bot-2:3978" in config
    assert services()["proxy"]["volumes"] == ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
