"""Operating the ledger: Prometheus metrics, readiness and structured logs.

Metrics hold counts, sizes, positions and durations only: no label ever carries personal data,
a credential id or a secret (routes appear as their templates, witnesses by their public name).
"""
