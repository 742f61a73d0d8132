"""HTML rendering: the Jinja2 environment and the reply renderer of the web platform.

This is the web's counterpart of the Slack blocks and the Teams activity: one
:class:`bot.models.Reply` becomes an answer card whose ``[n]`` markers link to citations
that expand to the cited passage.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from adapters.web.accounts import Role
from adapters.web.console import PREFIX, console_of, user_of, visit_of
from bot.labels import labels_for
from bot.models import COMMANDS

_MARKER = re.compile(r"\[(\d{1,2})\]")


def answer_html(text: str, numbers: list[int], turn: str) -> Markup:
    """The answer text, escaped, with each ``[n]`` that has a citation linked to it."""
    known = set(numbers)

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return (
            f'<a class="marker" href="#{turn}-c{n}" data-cite="{turn}-c{n}" '
            f'aria-label="citation {n}">[{n}]</a>'
        )

    return Markup(_MARKER.sub(link, str(escape(text))))


def paragraphs_with_markers(text: str, numbers: list[int], turn: str) -> Markup:
    """Paragraphs (blank-line separated) of a reply, each with its markers linked."""
    parts = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
    return Markup("".join(f"<p>{answer_html(part, numbers, turn)}</p>" for part in parts))


def paragraphs(text: str) -> Markup:
    parts = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
    return Markup("".join(f"<p>{escape(part)}</p>" for part in parts))


@jinja2.pass_environment
def when(env: jinja2.Environment, value: datetime | None) -> str:
    """A moment in the organisation's time zone (``POLICYBOT_TIMEZONE``), zone named."""
    if value is None:
        return "—"
    local = value.astimezone(env.globals["zone"])  # type: ignore[arg-type]
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")


@jinja2.pass_environment
def short(env: jinja2.Environment, value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(env.globals["zone"]).strftime("%m-%d %H:%M")  # type: ignore[arg-type]


def make_environment(zone: tzinfo = UTC) -> jinja2.Environment:
    """Templates that show times in ``zone`` and know the core's step buttons."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("adapters.web", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        prefix=PREFIX,
        Role=Role,
        zone=zone,
        commands={action.value: words for action, words in COMMANDS.items()},
        labels_for=labels_for,
    )
    env.filters.update(
        answer_html=answer_html,
        paragraphs=paragraphs,
        paragraphs_with_markers=paragraphs_with_markers,
        when=when,
        short=short,
    )
    return env


async def render(
    request: web.Request, name: str, *, status: int = 200, **context: Any
) -> web.Response:
    console = console_of(request)
    user = user_of(request)
    context.setdefault("title", None)
    html = console.templates.get_template(name).render(
        user=user,
        csrf_token=visit_of(request).csrf_token,
        chat_open=not console.settings.chat_requires_sign_in,
        can_support=bool(user and user.role.allows(Role.SUPPORT)),
        can_admin=bool(user and user.role.allows(Role.ADMIN)),
        path=request.path,
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html")
