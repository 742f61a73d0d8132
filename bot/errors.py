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
