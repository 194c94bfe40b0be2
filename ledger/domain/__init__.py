"""What the ledger records and the rules it holds issuers to: aggregates and their events,
credential content and the EU code lists, commands and commitments, signatures, typed errors.
Pure: no I/O, no configuration, nothing above it imported."""
