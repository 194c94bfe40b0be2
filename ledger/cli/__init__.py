"""The ``credledger`` command line."""
