"""Platform-neutral core of the GenAI policy assistant.

Adapters (Slack, Teams, the web console, the terminal) turn platform events into
:class:`bot.models.Message` and render :class:`bot.models.Reply`; nothing in this
package imports a chat platform's SDK.
"""
