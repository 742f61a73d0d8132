"""The project's exceptions: one base class, each subclass a kind of failure the user can act on."""


class PolicyBotError(Exception):
    """Base class; the message always says what to do next."""


class ConfigurationError(PolicyBotError):
    """A setting is missing or wrong; the message names the setting and the fix."""


class ModelError(PolicyBotError):
    """The embedding model or the chat model cannot be loaded or reached."""


class KnowledgeIndexError(PolicyBotError):
    """The knowledge index is missing, empty or was built with another model."""


class DocumentError(PolicyBotError):
    """A source document cannot be read; the message says why."""


class ComposerError(PolicyBotError):
    """A generated answer was rejected (e.g. it cited a passage it was not given)."""


class StoreError(PolicyBotError):
    """The hand-off store cannot be opened or migrated; the message names the database."""


class HandoffError(PolicyBotError):
    """A support-queue operation was refused; the message says why and what to do."""


class TicketNotFound(HandoffError):
    """No ticket has the given reference."""


class ClaimConflict(HandoffError):
    """Someone else claimed the ticket first; ``assignee`` names them."""

    def __init__(self, message: str, *, assignee: str | None) -> None:
        super().__init__(message)
        self.assignee = assignee


class InvalidTransition(HandoffError):
    """The ticket's state does not allow the action (e.g. claiming a resolved ticket)."""


class InvalidInput(HandoffError):
    """One or more fields are empty, too long or not allowed; ``errors`` maps field to reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))
        self.errors = dict(errors)
