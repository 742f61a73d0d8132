"""``python -m adapters.cli`` is the same as ``policybot``."""

from adapters.cli import run

run()
