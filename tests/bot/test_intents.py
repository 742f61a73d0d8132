"""Routing rules: commands at the start of a message, incidents only when something happened."""

from __future__ import annotations

import pytest

from bot.intents import Route, classify, looks_like_incident, tool_named


@pytest.mark.parametrize(
    "text",
    [
        "I think I leaked customer data into ChatGPT",
        "I pasted our client list into ChatGPT, what should I do?",
        "I uploaded the Q3 contract to Claude yesterday",
        "my colleague put patient records into Gemini",
        "Copilot showed me another customer's account details",
        "My account was hacked",
        "We had a data breach involving ChatGPT",
        "Someone sent me a deepfake of our CEO",
    ],
)
def test_first_person_accounts_of_what_happened_are_incidents(text: str) -> None:
    assert looks_like_incident(text)
    assert classify(text).route is Route.INCIDENT


@pytest.mark.parametrize(
    "text",
    [
        "Can I paste customer data into ChatGPT?",
        "What do I do if an AI tool leaked personal data?",
        "What happens if my account was hacked?",
        "Do I need to report it if I pasted a customer name into ChatGPT?",
        "I put my own CV into ChatGPT, is that ok?",
        "How do I report an incident?",
        "I used ChatGPT to write an email, fine?",
        "Helpful tips for prompts?",
        "Is DeepSeek approved?",
    ],
)
def test_questions_about_incidents_are_questions(text: str) -> None:
    assert classify(text).route is Route.QUESTION


@pytest.mark.parametrize(
    ("text", "route", "rest", "helpful"),
    [
        ("report incident", Route.INCIDENT, "", None),
        ("Report an AI incident", Route.INCIDENT, "", None),
        (
            "I want to report an AI incident: a colleague uploaded payroll to Gemini",
            Route.INCIDENT,
            "a colleague uploaded payroll to Gemini",
            None,
        ),
        (
            "Incident: I sent a customer's HKID to Claude",
            Route.INCIDENT,
            "I sent a customer's HKID to Claude",
            None,
        ),
        (
            "feedback: the policy should allow Copilot for interns",
            Route.FEEDBACK,
            "the policy should allow Copilot for interns",
            None,
        ),
        ("Feedback", Route.FEEDBACK, "", None),
        (
            "not helpful: it ignores the intern rule",
            Route.RATE,
            "it ignores the intern rule",
            False,
        ),
        ("Not helpful because it is vague", Route.RATE, "because it is vague", False),
        ("👎", Route.RATE, "", False),
        ("That was helpful, thanks", Route.RATE, "thanks", True),
        ("ask a person", Route.ASK_PERSON, "", None),
        (
            "Ask a person: can interns use Copilot?",
            Route.ASK_PERSON,
            "can interns use Copilot?",
            None,
        ),
        ("talk to a human", Route.ASK_PERSON, "", None),
        ("Cancel.", Route.CANCEL, "", None),
        ("never mind", Route.CANCEL, "", None),
        ("my tickets", Route.MY_TICKETS, "", None),
    ],
)
def test_commands(text: str, route: Route, rest: str, helpful: bool | None) -> None:
    intent = classify(text)
    assert (intent.route, intent.text, intent.helpful) == (route, rest, helpful)


def test_tools_are_named_by_their_usual_spelling() -> None:
    assert tool_named("I pasted it into chat gpt") == "ChatGPT"
    assert tool_named("GitHub Copilot suggested a key") == "GitHub Copilot"
    assert tool_named("a chatbot") is None
