"""Hand-off to people: ticket models, what employees submit, the staff-side ticket
lifecycle, the incident dialogue, the outbox relay and its :class:`Notifier` port, and
knowledge gaps."""
