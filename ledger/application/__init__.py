"""The ledger service: decides signed commands against the stored history (``service``), with
the checks that need no state (``command_checks``), on the storage backend configuration names
(``storage``); and the operations on the ledger itself (``anchoring_key_rotation``)."""
