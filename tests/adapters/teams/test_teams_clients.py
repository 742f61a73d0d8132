"""The adapter's connector and user-token clients are built once and reused across turns,
with each service URL (and app id) keeping clients of its own."""

from __future__ import annotations

from botbuilder.schema import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from adapters.teams.clients import ReusedClients
from adapters.teams.connector import build_adapter
from adapters.teams.settings import TeamsSettings


def _activity(service_url: str) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        id="a1",
        channel_id="msteams",
        service_url=service_url,
        conversation=ConversationAccount(id="c1"),
        from_property=ChannelAccount(id="u1"),
        recipient=ChannelAccount(id="bot"),
        text="hello",
    )


async def test_clients_are_reused_per_service_url() -> None:
    adapter = build_adapter(TeamsSettings(_env_file=None))
    auth = adapter.bot_framework_authentication
    assert isinstance(auth, ReusedClients)

    first = await auth.authenticate_request(_activity("http://127.0.0.1:9/a"), "")
    second = await auth.authenticate_request(_activity("http://127.0.0.1:9/a"), "")
    one = await first.connector_factory.create("http://127.0.0.1:9/a", first.audience)
    again = await second.connector_factory.create("http://127.0.0.1:9/a", second.audience)
    other = await second.connector_factory.create("http://127.0.0.1:9/b", second.audience)
    assert one is again
    assert other is not one
    assert other.config.base_url == "http://127.0.0.1:9/b"

    tokens = await auth.create_user_token_client(first.claims_identity)
    assert tokens is await auth.create_user_token_client(second.claims_identity)

    # Proactive turns (answers sent after the acknowledgement) share the same clients.
    proactive = auth.create_connector_factory(first.claims_identity)
    assert await proactive.create("http://127.0.0.1:9/a", first.audience) is one
