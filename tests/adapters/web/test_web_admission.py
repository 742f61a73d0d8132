"""Anonymous writes are rate limited per client and in total, across processes."""

from __future__ import annotations

from adapters.web.accounts import Role
from adapters.web.settings import WebSettings
from tests.adapters.web.conftest import StartConsole


def limited(**limits: int) -> WebSettings:
    return WebSettings(_env_file=None, trusted_proxies="127.0.0.1", **limits)


async def ask_person(console, client: str, question: str) -> int:
    token = await console.csrf()
    response = await console.client.post(
        "/console/ask-person",
        data={"question": question, "csrf_token": token},
        headers={"X-Forwarded-For": client},
    )
    return response.status


async def test_a_client_sending_too_many_tickets_is_told_when_to_retry(
    start_console: StartConsole,
):
    console = await start_console(web=limited(anonymous_tickets_per_hour=2))

    statuses = [await ask_person(console, "198.51.100.7", f"question {n}?") for n in range(3)]

    assert statuses == [200, 200, 429]
    tickets = (await console.context.assistant.desk.list_tickets()).tickets
    assert len(tickets) == 2, "the refused request created no ticket"
    assert await ask_person(console, "203.0.113.9", "another person?") == 200


async def test_the_limit_holds_across_processes_and_spares_signed_in_staff(
    start_console: StartConsole,
):
    settings = limited(anonymous_tickets_per_hour=1, anonymous_tickets_per_hour_total=2)
    first = await start_console(web=settings)
    second = await start_console(web=settings)  # another process on the same database

    assert await ask_person(first, "198.51.100.1", "one?") == 200
    assert await ask_person(second, "198.51.100.1", "two?") == 429
    assert await ask_person(second, "198.51.100.2", "three?") == 200
    assert await ask_person(first, "198.51.100.3", "four?") == 429, "anonymous total reached"

    second.add_user("sam", Role.SUPPORT)
    assert await second.sign_in("sam") == 303
    assert await ask_person(second, "198.51.100.1", "signed in?") == 200
