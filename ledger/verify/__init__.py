"""Checking the ledger's own proofs, trusting nothing that can be recomputed: proof bundles
(``bundle`` builds one, ``bundle_checks`` checks one), the step-by-step ``report`` every verifier
answers in, and the ``combined`` report of a document with its ledger record."""
