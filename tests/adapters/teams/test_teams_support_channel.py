"""The support channel: named by an admin or by configuration, never by whoever adds the bot."""

from __future__ import annotations

from botbuilder.schema import Activity

from adapters.teams.settings import TeamsSettings
from adapters.teams.support import SupportChannel
from tests.adapters.teams.conftest import ADMIN_AAD_ID, TeamsHarness, activity

CHANNEL = "19:8f3c2b1a0e9d4c7b6a5f4e3d2c1b0a9f@thread.tacv2"


def from_admin(data: dict) -> dict:
    return {**data, "from": {**data["from"], "aadObjectId": ADMIN_AAD_ID}}


async def test_admin_names_the_support_channel_in_it(harness: TeamsHarness):
    status, _ = await harness.post(
        from_admin(activity("channel_mention", text="<at>PolicyBot</at> admin support-channel"))
    )

    assert status == 201
    [reply] = harness.connector.sent()
    assert "will be posted here" in reply.text
    reference = harness.runtime.support.reference()
    assert reference is not None
    assert reference.conversation.id == CHANNEL, "new threads, not replies in the admin's thread"
    assert reference.service_url == harness.connector.url


async def test_support_channel_must_be_named_in_a_channel(harness: TeamsHarness):
    await harness.post(from_admin(activity("personal_message", text="admin support-channel")))

    [reply] = harness.connector.sent()
    assert "in the Teams channel" in reply.text
    assert harness.runtime.support.reference() is None


async def test_an_unconfigured_channel_never_becomes_the_support_channel(harness: TeamsHarness):
    await harness.post(activity("channel_mention"))

    assert harness.runtime.support.reference() is None


def test_configured_channel_learns_the_service_url_from_its_first_activity(tmp_path):
    settings = TeamsSettings(_env_file=None, support_conversation=CHANNEL, app_tenant_id="t-1")
    support = SupportChannel(settings, tmp_path)
    assert support.reference().service_url == settings.service_url

    incoming = Activity().deserialize(
        activity("channel_mention", serviceUrl="https://smba.trafficmanager.net/apac/")
    )
    support.learn(incoming)

    again = SupportChannel(settings, tmp_path).reference()
    assert again.service_url == "https://smba.trafficmanager.net/apac/"
    assert again.conversation.id == CHANNEL


def test_a_configured_channel_wins_over_one_set_in_chat_before(tmp_path):
    earlier = SupportChannel(TeamsSettings(_env_file=None), tmp_path)
    earlier.set_from(Activity().deserialize(activity("channel_mention")))
    assert earlier.reference().conversation.id == CHANNEL

    other = "19:0a1b2c3d4e5f60718293a4b5c6d7e8f9@thread.tacv2"
    settings = TeamsSettings(_env_file=None, support_conversation=other, app_tenant_id="t-1")
    assert SupportChannel(settings, tmp_path).reference().conversation.id == other
