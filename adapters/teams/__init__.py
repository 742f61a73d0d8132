"""Microsoft Teams adapter (Bot Framework SDK for Python, ``CloudAdapter``) at ``/api/messages``.

``setup(app, context)`` plugs it into the project's aiohttp server; see
:mod:`adapters.teams.endpoint`.
"""

from adapters.teams.endpoint import setup

__all__ = ["setup"]
