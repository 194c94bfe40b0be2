def canonical_nquads(quads: list[tuple[str, str, str]], max_work: int, /) -> bytes | None:
    """The canonical N-Quads (UTF-8) of distinct quads of canonical N-Quads terms, blank nodes
    labelled by RDFC-1.0; None if labelling would take more than ``max_work`` steps."""
