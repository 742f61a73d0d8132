"""The console fixtures, for tests that put the shipped proxy in front of it."""

from tests.adapters.web.conftest import start_console

__all__ = ["start_console"]
