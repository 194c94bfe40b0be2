"""credledger: an event-sourced ledger for EU micro-credentials.

The public surface is small: :mod:`ledger.application.service` (the service),
:mod:`ledger.client` (signing and sending commands), :mod:`ledger.domain.errors` (what can go
wrong) and :mod:`ledger.settings` (configuration). ``docs/architecture.md`` maps the packages.
"""

# First, so that no library can leave the interpreter's recursion limit raised (see anchors).
import anchors  # noqa: F401

__version__ = "0.1.0"
