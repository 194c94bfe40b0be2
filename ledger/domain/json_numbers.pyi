"""Types of the C module ``ledger/domain/json_numbers.c``."""

def has_long_number(text: bytes, /) -> bool:
    """Whether JSON bytes may hold an integer beyond 64 bits (19 digits where a number may
    start)."""
