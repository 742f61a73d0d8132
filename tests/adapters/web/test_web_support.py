"""From the chat to the support queue and back: feedback, Ask a person, incidents, staff work."""

from __future__ import annotations

import asyncio
import csv
import io
import re

import pytest

from adapters.web.accounts import Role
from adapters.web.support import PAGE_SIZE
from bot.handoff.ports import Reporter
from bot.handoff.tickets import GeneralFeedback

ANSWERABLE = "Can I paste a customer's HKID number into ChatGPT?"
UNANSWERABLE = "What is on the canteen menu on Friday?"


def answer_id_of(html: str) -> str:
    return re.search(r'name="answer_id" value="([0-9a-f]{32})"', html).group(1)


async def ask(harness, question: str) -> str:
    response = await harness.post("/console/ask", {"question": question})
    assert response.status == 200
    return await response.text()


async def report_incident(harness, **fields) -> str:
    values = {
        "what_happened": "I pasted a customer list with phone numbers into ChatGPT",
        "tool": "ChatGPT (personal account)",
        "data_involved": "names and phones of about 40 customers",
        "contained": "not sure",
        "contact": "ext. 4321",
        "nonce": "n1",
        **fields,
    }
    response = await harness.post("/console/incident", values)
    return response.status, await response.text()


@pytest.fixture
async def staffed(console):
    console.add_user("sam", Role.SUPPORT)
    console.add_user("sue", Role.SUPPORT)
    return console


async def test_an_answer_offers_feedback_ask_a_person_and_incident_report(console):
    html = await ask(console, ANSWERABLE)
    assert 'value="yes"' in html and 'value="no"' in html
    assert "Ask a person" in html and "Report an AI incident" in html
    not_found = await ask(console, UNANSWERABLE)
    assert "Ask a person" in not_found and "Was this helpful?" not in not_found


async def test_unhelpful_feedback_reaches_the_queue_with_the_answer(staffed):
    answer_id = answer_id_of(await ask(staffed, ANSWERABLE))
    response = await staffed.post(
        "/console/feedback",
        {"answer_id": answer_id, "helpful": "no", "comment": "too vague"},
        headers={"X-Requested-With": "fetch"},
    )
    text = await response.text()
    reference = re.search(r"FB-\d{4}-\d{4}", text).group(0)
    await staffed.sign_in("sam")
    page = await (await staffed.client.get(f"/console/support/{reference}")).text()
    assert "too vague" in page and "HKID" in page
    assert "4.3 Identity numbers" in page  # the citation the answer gave


async def test_helpful_feedback_is_counted_in_the_admin_chart(console):
    answer_id = answer_id_of(await ask(console, ANSWERABLE))
    await console.post("/console/feedback", {"answer_id": answer_id, "helpful": "yes"})
    console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    page = await (await console.client.get("/console/admin")).text()
    assert "feedback: 1 helpful, 0 not helpful" in page


async def test_ask_a_person_creates_an_escalation_the_visitor_can_follow(console):
    html = await ask(console, UNANSWERABLE)
    answer_id = answer_id_of(html)
    response = await console.post("/console/ask-person", {"answer_id": answer_id})
    reference = re.search(r"ESC-\d{4}-\d{4}", await response.text()).group(0)
    chat = await (await console.client.get("/console/")).text()
    assert "Your requests" in chat and reference in chat


async def test_an_incident_report_needs_what_happened(console):
    status, html = await report_incident(console, what_happened="")
    assert status == 400
    assert 'aria-invalid="true"' in html and "is empty" in html


async def test_an_incident_report_gets_a_reference_and_the_policy_guidance(console):
    status, html = await report_incident(console)
    assert status == 200
    reference = re.search(r"INC-\d{4}-\d{4}", html).group(0)
    assert "Keep the evidence" in html
    assert "11.3 What to do straight after an incident" in html or "11.2" in html
    # The same form sent twice (a double click, a retry) is one ticket.
    _, again = await report_incident(console)
    assert re.search(r"INC-\d{4}-\d{4}", again).group(0) == reference


async def test_staff_claim_comment_set_severity_resolve_and_reopen(staffed):
    _, html = await report_incident(staffed)
    reference = re.search(r"INC-\d{4}-\d{4}", html).group(0)
    await staffed.sign_in("sam")
    queue = await (await staffed.client.get("/console/support?kind=incident")).text()
    assert reference in queue

    async def act(action, **data):
        return await staffed.post(f"/console/support/{reference}/{action}", data)

    assert (await act("claim")).status == 200
    assert (await act("comment", text="called the reporter")).status == 200
    assert (await act("severity", severity="critical")).status == 200
    empty = await act("resolve", note="")
    assert empty.status == 400 and "note: is empty" in await empty.text()
    done = await act("resolve", note="chat history deleted with the vendor")
    assert done.status == 200
    reopened = await act("reopen", reason="vendor did not confirm")
    page = await reopened.text()
    assert "Ticket reopened." in page and "Done: reopen." not in page
    actions = re.findall(r"<td class=\"action\">(\w+)</td>", page)
    assert actions == ["created", "claimed", "commented", "severity", "resolved", "reopened"]
    assert "high -&gt; critical" in page and "called the reporter" in page

    chat = await (await staffed.client.get("/console/")).text()
    assert reference not in chat  # sam's own requests, not the reporter's


async def test_a_second_claim_is_told_who_has_it(staffed, start_console):
    _, html = await report_incident(staffed)
    reference = re.search(r"INC-\d{4}-\d{4}", html).group(0)
    await staffed.sign_in("sam")
    await staffed.post(f"/console/support/{reference}/claim")
    await staffed.post("/console/signout")
    await staffed.sign_in("sue")
    response = await staffed.post(f"/console/support/{reference}/claim")
    assert response.status == 409
    assert "already claimed by sam" in await response.text()


async def test_unknown_ticket_is_404(staffed):
    await staffed.sign_in("sam")
    response = await staffed.client.get("/console/support/INC-2020-9999")
    assert response.status == 404


async def test_the_queue_filters_overdue_incidents(start_console):
    harness = await start_console(incident_ack_hours=0.0001)
    harness.add_user("sam", Role.SUPPORT)
    _, html = await report_incident(harness)
    reference = re.search(r"INC-\d{4}-\d{4}", html).group(0)
    await ask(harness, UNANSWERABLE)
    answer_id = answer_id_of(await ask(harness, UNANSWERABLE))
    await harness.post("/console/ask-person", {"answer_id": answer_id})
    await asyncio.sleep(0.5)
    await harness.sign_in("sam")
    overdue = await (await harness.client.get("/console/support?overdue=1")).text()
    assert reference in overdue and "ESC-" not in overdue
    assert 'class="badge sla overdue">overdue by' in overdue
    escalations = await (await harness.client.get("/console/support?kind=escalation")).text()
    assert "ESC-" in escalations and reference not in escalations


async def test_csv_export_neutralises_formulas(staffed):
    await report_incident(staffed, what_happened='=HYPERLINK("http://evil") pasted data')
    await staffed.sign_in("sam")
    response = await staffed.client.get("/console/support/export.csv?kind=incident")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 1
    assert rows[0]["body"].startswith("'=")


async def test_tickets_by_state_are_in_metrics(console):
    await report_incident(console)
    text = await (await console.client.get("/metrics")).text()
    assert 'policybot_tickets{state="open"} 1' in text


async def test_knowledge_gaps_list_unanswered_questions(console):
    await ask(console, UNANSWERABLE)
    await ask(console, "what's for lunch in the canteen on Friday?")
    console.add_user("ada", Role.ADMIN)
    await console.sign_in("ada")
    page = await (await console.client.get("/console/admin")).text()
    section = page[page.index('id="gaps-h"') :]
    assert "canteen" in section


async def test_a_reply_from_the_console_reaches_the_visitor_under_your_requests(staffed):
    _, html = await report_incident(staffed)
    reference = re.search(r"INC-\d{4}-\d{4}", html).group(0)
    await staffed.sign_in("sam")
    page = await (await staffed.client.get(f"/console/support/{reference}")).text()
    # Resolve sits apart from the comment box, after every other action.
    assert page.index('id="comment"') < page.index("<h2>Resolve</h2>") < page.index('id="note"')
    response = await staffed.post(
        f"/console/support/{reference}/reply", {"text": "Please delete the chat now."}
    )
    page = await response.text()
    assert "Reply sent to the reporter." in page
    assert re.search(r'<td class="action">replied</td>.*Please delete the chat now\.', page, re.S)
    await staffed.post(f"/console/support/{reference}/comment", {"text": "vendor called"})
    page = await (await staffed.client.get(f"/console/support/{reference}")).text()
    assert re.search(r'<td class="action">commented</td>.*vendor called', page, re.S)
    await staffed.post("/console/signout")
    chat = await (await staffed.client.get("/console/")).text()
    assert "Reply from sam" in chat and "Please delete the chat now." in chat
    assert "vendor called" not in chat


async def test_the_queue_searches_sorts_and_filters_by_severity_and_mine(staffed):
    _, first = await report_incident(staffed, what_happened="Payroll sheet pasted into Gemini")
    _, second = await report_incident(staffed, what_happened="A contract uploaded to Claude")
    one = re.search(r"INC-\d{4}-\d{4}", first).group(0)
    two = re.search(r"INC-\d{4}-\d{4}", second).group(0)
    await staffed.sign_in("sam")
    await staffed.post(f"/console/support/{one}/claim")
    await staffed.post(f"/console/support/{two}/severity", {"severity": "critical"})

    async def listed(query: str) -> list[str]:
        page = await (await staffed.client.get(f"/console/support?{query}")).text()
        return re.findall(r'data-reference="(INC-\d{4}-\d{4})"', page)

    assert await listed("q=payroll") == [one]
    assert await listed("assignee=me") == [one]
    assert await listed("assignee=nobody") == [two]
    assert await listed("severity=critical") == [two]
    assert await listed("sort=oldest") == [one, two]
    assert await listed("sort=severity") == [two, one]
    page = await (await staffed.client.get("/console/support")).text()
    assert re.search(r'class="badge sla">due in \d+ h', page)


@pytest.mark.parametrize("sort", ["", "oldest", "due", "severity"])
async def test_every_sort_order_pages_through_the_queue(staffed, sort):
    """More tickets than a page: "Next page" keeps the order and lists each ticket once."""
    submissions = staffed.context.assistant.handoff
    reporter = Reporter(platform="web", user_id="visitor")
    for n in range(PAGE_SIZE + 7):
        submissions.general_feedback(GeneralFeedback(reporter=reporter, text=f"Idea {n}"))
    for n in range(3):
        await report_incident(staffed, what_happened=f"Case {n} pasted into ChatGPT", nonce=f"p{n}")
    await staffed.sign_in("sam")

    seen: list[str] = []
    path = f"/console/support?sort={sort}" if sort else "/console/support"
    pages = 0
    while path:
        html = await (await staffed.client.get(path)).text()
        seen += re.findall(r'data-reference="([A-Z]+-\d{4}-\d{4})"', html)
        pages += 1
        found = re.search(r'<a href="([^"]+)" rel="next">Next page</a>', html)
        path = found.group(1).replace("&amp;", "&") if found else None
    assert pages == 2
    assert len(seen) == len(set(seen)) == PAGE_SIZE + 10
    if sort in ("", "due"):
        incidents = [r for r in seen if r.startswith("INC-")]
        assert seen[:3] == incidents
