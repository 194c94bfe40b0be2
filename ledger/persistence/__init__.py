"""Where the ledger keeps things: one module per backend (``sqlite``, ``postgres``), the
personal-data vault they both implement, the read model, and the topics stored events name."""
