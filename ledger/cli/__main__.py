"""``python -m ledger.cli`` runs the command line."""

from ledger.cli.main import main

main()
