"""Europass Digital Credentials: a credential version as an ELM v3 credential (``credential``,
with ``concepts`` for code-list values), its conformance to the EU's shapes (``shapes``), and
the issuer's JAdES seal over it (``seal``)."""
