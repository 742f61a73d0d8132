"""Slack adapter (Bolt for Python, ``AsyncApp``) at ``POST /slack/events`` or over Socket Mode.

``setup(app, context)`` plugs it into the project's aiohttp server; see
:mod:`adapters.slack.endpoint`.
"""

from adapters.slack.endpoint import setup

__all__ = ["setup"]
