"""The edges: terminal (CLI), HTTP server, Slack, Teams and the web console.

Each adapter translates its platform's events into :class:`bot.models.Message` and renders
:class:`bot.models.Reply`; ``bot`` never imports from here.
"""
