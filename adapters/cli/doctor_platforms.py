"""``policybot doctor``'s checks of the outside services: Slack, Teams, the chat model.

Each asks the real service the least it can (Slack's ``auth.test`` and
``conversations.info``, one client-credentials token from the Microsoft identity platform,
one one-word prompt to the chat model) and posts nothing anywhere.
"""

from __future__ import annotations

import concurrent.futures
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError

import adapters.slack
from adapters.cli.diagnosis import Check, failed, passed
from adapters.slack.settings import SlackSettings
from adapters.teams.settings import TeamsSettings
from adapters.teams.support import SupportChannel
from bot.answering.engine import build_composer
from bot.errors import ConfigurationError
from bot.settings import Settings
from bot.store import connect
from bot.store.values import SharedValues

CheckGroup = Callable[[Settings], Iterator[Check]]
MANIFEST = Path(adapters.slack.__file__).resolve().parent / "manifest.yaml"
SLACK_TIMEOUT_SECONDS = 10
SIGNING_SECRET = re.compile(r"^[0-9a-f]{32}$")
BOT_FRAMEWORK_SCOPE = "https://api.botframework.com/.default"
PROMPT = "Reply with one word: ready"
REINSTALL = (
    "then reinstall the app to the workspace from OAuth & Permissions and copy the new Bot "
    "User OAuth Token into SLACK_BOT_TOKEN"
)


def manifest_scopes() -> set[str]:
    """The bot scopes the shipped manifest asks for."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return set(manifest["oauth_config"]["scopes"]["bot"])


def check_slack(settings: Settings) -> Iterator[Check]:
    try:
        slack = SlackSettings()
    except ConfigurationError as exc:
        yield failed("slack", "the Slack settings are incomplete", str(exc))
        return
    if not slack.configured:
        yield passed("slack", "not configured (SLACK_BOT_TOKEN unset)")
        return
    client = WebClient(token=slack.token, base_url=slack.api_url, timeout=SLACK_TIMEOUT_SECONDS)
    try:
        identity = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error")
        yield failed(
            "slack_token",
            f"auth.test answered {error}",
            "copy the Bot User OAuth Token (xoxb-...) from OAuth & Permissions into "
            "SLACK_BOT_TOKEN; if the app was uninstalled, install it again",
        )
        return
    except (SlackClientError, OSError) as exc:
        yield failed(
            "slack_token",
            f"cannot reach {slack.api_url} ({exc.__class__.__name__})",
            "check the server's outbound HTTPS access to Slack, or SLACK_API_URL",
        )
        return
    yield passed(
        "slack_token", f"valid for {identity.get('user')} in {identity.get('team')} via auth.test"
    )
    yield scope_check(identity.headers)
    yield signing_secret_check(slack)
    yield support_channel_check(client, slack)


def scope_check(headers: dict[str, Any]) -> Check:
    granted_header = next(
        (str(value) for key, value in headers.items() if key.lower() == "x-oauth-scopes"), ""
    )
    granted = {scope.strip() for scope in granted_header.split(",") if scope.strip()}
    missing = sorted(manifest_scopes() - granted)
    if missing:
        return failed(
            "slack_scopes",
            f"the token lacks {', '.join(missing)}",
            f"add {', '.join(missing)} under OAuth & Permissions → Scopes → Bot Token Scopes "
            f"(or paste `policybot slack manifest`), {REINSTALL}",
        )
    return passed(
        "slack_scopes", f"the token has every scope the manifest asks for ({len(granted)})"
    )


def signing_secret_check(slack: SlackSettings) -> Check:
    secret = slack.secret
    if secret is None:
        return passed("slack_signing_secret", "not needed: Socket Mode (SLACK_APP_TOKEN) is on")
    if not SIGNING_SECRET.match(secret):
        return failed(
            "slack_signing_secret",
            "SLACK_SIGNING_SECRET is set but is not 32 hexadecimal characters",
            "copy the Signing Secret from Basic Information → App Credentials (not the Client "
            "Secret or a token)",
        )
    return passed("slack_signing_secret", "set (32 hexadecimal characters)")


def support_channel_check(client: WebClient, slack: SlackSettings) -> Check:
    name = "slack_support_channel"
    channel = slack.support_channel
    if channel is None:
        return failed(
            name,
            "POLICYBOT_SLACK_SUPPORT_CHANNEL is not set: incidents reach no Slack channel",
            "set POLICYBOT_SLACK_SUPPORT_CHANNEL to the support team's channel id (C...) and "
            "invite the bot there",
        )
    try:
        info = client.conversations_info(channel=channel)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error")
        if error == "missing_scope":
            fix = f"add channels:read and groups:read to the bot's scopes, {REINSTALL}"
        else:
            fix = (
                f"check the channel id in POLICYBOT_SLACK_SUPPORT_CHANNEL; for a private "
                f"channel, invite the bot first (/invite @PolicyBot in {channel})"
            )
        return failed(name, f"conversations.info on {channel} answered {error}", fix)
    except (SlackClientError, OSError) as exc:
        return failed(
            name,
            f"conversations.info failed ({exc.__class__.__name__})",
            "check the server's outbound HTTPS access to Slack, or SLACK_API_URL",
        )
    details = info.get("channel") or {}
    label = f"#{details.get('name', channel)} ({channel})"
    if not details.get("is_member"):
        return failed(
            name,
            f"the bot is not a member of {label}",
            f"invite it: /invite @PolicyBot in {label}",
        )
    return passed(name, f"the bot is a member of {label}")


def token_url(teams: TeamsSettings) -> str:
    tenant = teams.app_tenant_id if teams.app_type == "SingleTenant" else "botframework.com"
    return f"{teams.login_url.rstrip('/')}/{tenant}/oauth2/v2.0/token"


def check_teams(settings: Settings) -> Iterator[Check]:
    try:
        teams = TeamsSettings()
    except ConfigurationError as exc:
        yield failed("teams", "the Teams settings are incomplete", str(exc))
        return
    if not teams.auth_enabled:
        yield passed("teams", "not configured (MicrosoftAppId unset: Emulator mode)")
        return
    yield teams_token_check(teams)
    engine = connect(settings.resolved_database_url)
    try:
        # A channel set or learnt in chat is kept in the shared database (once migrated).
        values = SharedValues(engine) if sa.inspect(engine).has_table("shared_values") else None
        reference = SupportChannel(teams, values).reference()
    except SQLAlchemyError as exc:
        yield failed(
            "teams_support_conversation",
            f"cannot read the support channel from the database ({exc.__class__.__name__})",
            "fix the database check above, then run doctor again",
        )
        return
    finally:
        engine.dispose()
    if reference is None:
        yield failed(
            "teams_support_conversation",
            "no support conversation is known: incidents reach no Teams channel",
            "set POLICYBOT_TEAMS_SUPPORT_CONVERSATION to the channel's id (19:...@thread.tacv2), "
            "or send `admin support-channel` to the bot in that channel",
        )
        return
    yield passed("teams_support_conversation", f"{reference.conversation.id}")


def teams_token_check(teams: TeamsSettings) -> Check:
    name = "teams_credentials"
    if teams.app_type == "UserAssignedMSI":
        return passed(name, "managed identity: a token can only be checked on its Azure host")
    url = token_url(teams)
    form = {
        "grant_type": "client_credentials",
        "client_id": teams.app_id or "",
        "client_secret": teams.password or "",
        "scope": BOT_FRAMEWORK_SCOPE,
    }
    try:
        response = httpx.post(url, data=form, timeout=SLACK_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        return failed(
            name,
            f"cannot reach {url} ({exc.__class__.__name__})",
            "check the server's outbound HTTPS access, or POLICYBOT_TEAMS_LOGIN_URL",
        )
    body = _json(response)
    if response.status_code == 200 and body.get("access_token"):
        return passed(name, f"MicrosoftAppId {teams.app_id} obtains a Bot Framework token")
    error = str(body.get("error", f"HTTP {response.status_code}"))
    first_line = str(body.get("error_description", "")).splitlines()[:1]
    detail = f"the token endpoint refused: {error}" + (f" ({first_line[0]})" if first_line else "")
    if error == "invalid_client":
        fix = (
            "MicrosoftAppPassword is wrong or expired: create a new client secret under "
            "Certificates & secrets of the app registration and set it"
        )
    else:
        fix = (
            "check MicrosoftAppId, MicrosoftAppType and MicrosoftAppTenantId against the app "
            "registration's Overview page"
        )
    return failed(name, detail, fix)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def check_chat_model(settings: Settings, *, model: Any | None = None) -> Iterator[Check]:
    """The configured chat model answers a one-word prompt within its timeout.

    ``model`` stands in for the one the settings would build (tests pass a fake).
    """
    name = "chat_model"
    if model is None:
        if not settings.llm_provider and not settings.llm_model:
            yield passed(name, "not configured: answers are extractive")
            return
        try:
            composer = build_composer(settings)
        except ConfigurationError as exc:
            yield failed(name, "the chat model cannot be created", str(exc))
            return
        model = getattr(composer, "model", None)
        if model is None:
            yield failed(name, "the composer built from the settings has no chat model", "")
            return
    timeout = settings.llm_timeout_seconds
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(model.invoke, PROMPT)
    try:
        reply = future.result(timeout=timeout)
    except concurrent.futures.TimeoutError:
        yield failed(
            name,
            f"no answer within POLICYBOT_LLM_TIMEOUT_SECONDS={timeout:g}",
            "check the provider's status and the model name, or raise the timeout; meanwhile "
            "answers fall back to extractive",
        )
        return
    except Exception as exc:  # any provider error is the finding itself
        yield failed(
            name,
            f"the model failed: {exc.__class__.__name__}: {str(exc)[:200]}",
            "check POLICYBOT_LLM_PROVIDER, POLICYBOT_LLM_MODEL and the provider's API key",
        )
        return
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    text = str(getattr(reply, "content", reply)).strip()
    yield passed(name, f"{settings.llm_provider}:{settings.llm_model} answered {text[:40]!r}")


PLATFORM_CHECKS: list[CheckGroup] = [check_slack, check_teams, check_chat_model]
