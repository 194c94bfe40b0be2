"""The composition root: which stores, consumers and API workers run together in one process
(``embedded``) or in a worker of ``credledger serve --workers`` (``api_worker``). An edge: it
alone wires the API to the consumers."""
