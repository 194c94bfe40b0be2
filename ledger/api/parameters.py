"""Bounds of the integers the API takes in paths, queries and bodies.

Every position, size, index and version is stored as a signed 64-bit integer (SQLite's and
PostgreSQL's ``bigint``); a larger one is refused with 422 before any store sees it.
"""

INT64_MAX = 2**63 - 1
