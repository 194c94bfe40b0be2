def canonical_nquads(quads: list[tuple[str, str, str]], max_work: int, /) -> bytes | None:
    """The canonical N-Quads (UTF-8) of distinct quads of canonical N-Quads terms, blank nodes
    labelled by RDFC-1.0; None if labelling would take more than ``max_work`` steps."""

def canonical_tree(
    node: object,
    top_predicates: dict[str, tuple[str, str]],
    top_types: dict[str, str],
    predicates: dict[str, tuple[str, str]],
    types: dict[str, str],
    max_work: int,
    /,
) -> bytes | None:
    """The canonical N-Quads (UTF-8) of a JSON node tree whose terms the tables give; None if
    the tree is not plainly of that shape or too complex to label (the Python writer decides)."""
