"""What a message asks for: a policy question, an incident report, feedback, a person.

Simple, predictable rules rather than a model: commands are recognised only at the start of
a message ("feedback: ...", "ask a person", "not helpful: ..."), and an incident needs a
first-person account of something that happened ("I pasted our client list into ChatGPT"),
not a question about what would happen ("Can I paste customer data into ChatGPT?"). When
in doubt the message is a question: its answer still offers "Report an AI incident".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Route(StrEnum):
    QUESTION = "question"
    INCIDENT = "incident"
    CANCEL = "cancel"
    FEEDBACK = "feedback"
    ASK_PERSON = "ask_person"
    RATE = "rate"
    MY_TICKETS = "my_tickets"
    GREETING = "greeting"
    THANKS = "thanks"


@dataclass(frozen=True)
class Intent:
    """``text`` is what follows a command (the feedback, the comment, the question)."""

    route: Route
    text: str = ""
    helpful: bool | None = None


_SEP = r"(?:\s*[:\-–—,.!]\s*|\s+|$)"
_CANCEL = re.compile(
    r"^(?:cancel|stop|abort|quit|never\s?mind|forget it)(?: (?:it|that|this|the report))?"
    r"\s*[.!]*$",
    re.I,
)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|howdy|yo|good (?:morning|afternoon|evening|day)|morning|hallo"
    r"|你好|哈囉|早晨)(?: there| all| everyone| bot| policybot)?\s*[.!,:)]*\s*$",
    re.I,
)
_THANKS = re.compile(
    r"^(?:(?:ok(?:ay)?|great|perfect|cool|got it|brilliant|awesome|nice)[,!.]?\s*)?"
    r"(?:thanks|thank you|thx|ty|cheers|many thanks|thanks a lot|thank you so much|多謝|谢谢|唔該)"
    r"(?: (?:so much|a lot|very much|again|for (?:the|your) help|for that))?\s*[.!:)]*\s*$",
    re.I,
)
_FEEDBACK = re.compile(rf"^(?:general\s+)?feedback{_SEP}(?P<rest>.*)$", re.I | re.S)
# A rating ends there, or goes on after punctuation or "because": "helpful tips?" is a question.
_RATE_SEP = r"(?:\s*[:\-–—,.!]+\s*|\s+(?=because|since|thanks|thank you)|\s*$)"
_NOT_HELPFUL = re.compile(
    rf"^(?:not helpful|unhelpful|that (?:did ?n[o']?t|does ?n[o']?t) help|wrong answer|👎)"
    rf"{_RATE_SEP}(?P<rest>.*)$",
    re.I | re.S,
)
_HELPFUL = re.compile(
    rf"^(?:helpful|that (?:was|is) helpful|that helped|👍){_RATE_SEP}(?P<rest>.*)$", re.I | re.S
)
_ASK_PERSON = re.compile(
    r"^(?:ask an? (?:person|human)|(?:talk|speak) (?:to|with) (?:an? )?(?:person|human|someone)"
    rf"|escalate(?: this)?|human,? please|i want a human){_SEP}(?P<rest>.*)$",
    re.I | re.S,
)
_MY_TICKETS = re.compile(
    r"^(?:my (?:tickets|reports|requests)|status of my (?:tickets?|reports?|requests?))\s*[?.!]*$",
    re.I,
)
_REPORT = re.compile(
    r"^(?:i (?:want|need|would like|'d like) to )?(?:report|log|file|raise)"
    r"(?: an?)?(?: ai| possible| potential| suspected)?"
    r" (?:incident|breach|data leak|leak)s?\b"
    rf"|^incident(?: report)?{_SEP}",
    re.I,
)
# Someone says they (or a colleague) did something with data or an AI tool.
_DISCLOSURE = re.compile(
    r"\b(?:i|we|i've|we've|my colleague|a colleague|someone (?:in|on) my team|my team|my boss)\b"
    r"[^.?!\n]{0,40}?\b(?:leaked|pasted|uploaded|shared|entered|put|sent|typed|copied|submitted"
    r"|gave|exposed|disclosed|fed|input|inputted|posted|emailed|forwarded|dropped)\b",
    re.I,
)
# Things that happened to someone: the tool misbehaved, an account was taken over.
_EVENT = re.compile(
    r"\b(?:data (?:leak|breach)|(?:we|i) (?:had|have|caused) an? (?:breach|leak|incident)"
    r"|(?:ai|chatbot|chatgpt|copilot|gemini|the tool|the bot) (?:showed|gave|revealed|exposed"
    r"|leaked) (?:me )?(?:someone|another|other|a customer|customer|personal|private)"
    r"|(?:account|login) (?:was |has been |got )?(?:hacked|compromised|stolen)"
    r"|(?:fell|have fallen|fallen) for an? (?:deepfake|phishing)"
    r"|(?:sent me|received|got) an? (?:deepfake|ai[- ]generated phishing))",
    re.I,
)
_SENSITIVE = re.compile(
    r"\b(?:data|customer|client|patient|personal|confidential|restricted|sensitive|hkid|id card"
    r"|passport|salary|payroll|medical|health|credit card|card number|password|source code"
    r"|contract|cv|names?|phone numbers?|addresses|emails?|account|ai|chatbot|gpt)\b",
    re.I,
)
_QUESTION_START = re.compile(
    r"^(?:can|could|may|might|should|would|is|are|am|do|does|did|what|how|when|where|which|who"
    r"|why)\b",
    re.I,
)
_CONDITIONAL = re.compile(r"\b(?:if|suppose|supposing|hypothetically|in case)\b", re.I)
_PERMISSION = re.compile(
    r"\b(?:is|was) (?:that|this|it) (?:ok|okay|fine|allowed|permitted)\b"
    r"|\b(?:am|was) i allowed\b",
    re.I,
)

# A question typed without its question mark. English: a question word followed by an
# auxiliary ("what is the PCPD", "how do I ..."), or an auxiliary followed by its subject
# ("is copilot ok for writing code", "can I use ..."). Field answers rarely start so:
# "when I got back", "yes, names and emails", "did it at 3pm" (a past auxiliary needs a
# subject word after it).
_AUX = (
    r"(?:is|are|am|isn't|aren't|can|can't|could|may|might|should|shall|will|won't|would"
    r"|do|does|don't|doesn't|must|need|has|have)"
)
_PAST_AUX = r"(?:did|didn't|was|were|wasn't|weren't|had)"
_PRONOUN = (
    r"(?:i|you|we|they|he|she|it|this|that|these|those|there|my|our|your|their|the|a|an|any"
    r"|anyone|someone|staff|employees|interns|contractors)"
)
# Any other word may be the subject ("is copilot ok") after the commonest auxiliaries, but
# not a word that continues a statement ("should be contained", "is contained now").
_NOT_SUBJECT = r"(?:not|be|been|being|never|probably|already|just|also|still|\w+ed)\b"
_BARE_QUESTION = re.compile(
    rf"^(?:(?:what|how|when|where|which|who|whom|whose|why)(?:'s|\s+(?:{_AUX}|{_PAST_AUX})\b)"
    rf"|{_AUX}\s+{_PRONOUN}\s+\S"
    rf"|(?:is|are|can|could|may|do|does)\s+(?!{_NOT_SUBJECT})[a-z][\w.+-]*\s+\S"
    r"|(?:did|didn't|was|were|wasn't|weren't|had)\s+(?:i|you|we|they|he|she|this|that|there"
    r"|my|our|the)\s+\S"
    r"|(?:is|are|was) (?:it|this|that|there) (?:ok|okay|fine|allowed|safe|true)\b)",
    re.I,
)
# Chinese and Cantonese: a final particle (嗎/呢/未/咩/吖嘛), an A-not-A verb (可唔可以,
# 係咪, 有冇, 可不可以, 是不是), or a question word (點樣, 邊個, 幾時, 點解, 什麼, 如何).
_ZH_QUESTION = re.compile(
    r"(?:.[嗎吗呢咩未][\s。.!！~～]*$)"
    r"|(?:可唔可以|可不可以|可否|能否|能不能|係咪|係唔係|是不是|是否|有冇|有沒有|有没有|會唔會|會不會"
    r"|会不会|使唔使|需唔需要|需不需要|要唔要|得唔得|啱唔啱|應唔應該|應不應該|点样|點樣|點解|点解"
    r"|點算|边个|邊個|邊度|邊啲|幾時|几时|乜嘢|咩嘢|甚麼|什麼|什么|為什麼|为什么|如何|怎樣|怎么|怎麼)"
)


def is_question(text: str) -> bool:
    """Whether a message reads as a question even without a question mark: "is copilot ok
    for writing code", "what is the PCPD", "可唔可以用ChatGPT". Short field answers
    ("yesterday", "about 200 names", "when I got back") are not."""
    stripped = text.strip()
    if stripped.endswith(("?", "？")):
        return True
    return bool(_BARE_QUESTION.match(stripped) or _ZH_QUESTION.search(stripped))


TOOLS = {
    "chatgpt": "ChatGPT", "chat gpt": "ChatGPT", "openai": "ChatGPT", "gpt-4": "ChatGPT",
    "github copilot": "GitHub Copilot", "microsoft copilot": "Microsoft Copilot",
    "copilot": "Copilot", "gemini": "Gemini", "bard": "Gemini", "claude": "Claude",
    "deepseek": "DeepSeek", "perplexity": "Perplexity", "midjourney": "Midjourney",
    "firefly": "Adobe Firefly", "dall-e": "DALL-E", "stable diffusion": "Stable Diffusion",
    "grammarly": "Grammarly", "otter": "Otter", "notion ai": "Notion AI", "meta ai": "Meta AI",
    "poe": "Poe", "character.ai": "Character.AI", "ernie": "ERNIE Bot", "qwen": "Qwen",
    "tongyi": "Tongyi Qianwen", "kimi": "Kimi", "doubao": "Doubao",
}  # fmt: skip
_TOOL = re.compile(
    r"\b(" + "|".join(re.escape(t) for t in sorted(TOOLS, key=len, reverse=True)) + r")\b", re.I
)


def classify(text: str) -> Intent:
    """The route for one message; see the module docstring for the rules."""
    stripped = text.strip()
    if _CANCEL.match(stripped):
        return Intent(Route.CANCEL)
    if _GREETING.match(stripped):
        return Intent(Route.GREETING)
    if _THANKS.match(stripped):
        return Intent(Route.THANKS)
    for pattern, route in ((_FEEDBACK, Route.FEEDBACK), (_ASK_PERSON, Route.ASK_PERSON)):
        if match := pattern.match(stripped):
            return Intent(route, match["rest"].strip())
    if match := _NOT_HELPFUL.match(stripped):
        return Intent(Route.RATE, match["rest"].strip(), helpful=False)
    if match := _HELPFUL.match(stripped):
        return Intent(Route.RATE, match["rest"].strip(), helpful=True)
    if _MY_TICKETS.match(stripped):
        return Intent(Route.MY_TICKETS)
    if match := _REPORT.match(stripped):
        return Intent(Route.INCIDENT, stripped[match.end() :].strip(" :-–—,.!"))
    if looks_like_incident(stripped):
        return Intent(Route.INCIDENT, stripped)
    return Intent(Route.QUESTION, stripped)


def looks_like_incident(text: str) -> bool:
    """A first-person account of a leak, a misbehaving tool or a compromised account, not
    a question about what would happen ("what if ...", "can I ...") or whether it was
    allowed ("... is that ok?"): those are answered, with "Report an AI incident" offered."""
    happened = _EVENT.search(text) or (
        _DISCLOSURE.search(text) and (_SENSITIVE.search(text) or _TOOL.search(text))
    )
    if not happened or _QUESTION_START.match(text) or _CONDITIONAL.search(text):
        return False
    return not (text.rstrip().endswith("?") and _PERMISSION.search(text))


def tool_named(text: str) -> str | None:
    """The AI tool a message names, e.g. "ChatGPT" for "pasted it into chat gpt"."""
    match = _TOOL.search(text)
    return TOOLS[match.group(1).lower()] if match else None
