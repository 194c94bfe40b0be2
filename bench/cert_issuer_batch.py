"""cert-issuer's side of bench/documents.py; runs in cert-issuer's own virtual environment.

Reads unproved credential documents (a JSON list) from the file given and prepares them as one
batch the way cert-issuer's web/VC-API handler does in ``prepare_batch``: validate each,
URDNA2015-normalize it with pyld (cert-schema), SHA-256 it into the Merkle tree, make the tree.
The three parts are timed apart. Prints the timings, the leaves and the root as JSON.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from types import SimpleNamespace

from cert_issuer import config
from cert_issuer.certificate_handlers import CertificateBatchWebHandler, CertificateWebV3Handler
from cert_issuer.merkle_tree_generator import MerkleTreeGenerator


def main() -> None:
    logging.disable(logging.CRITICAL)
    # What its conf.ini would give: no contexts beyond those cert-schema preloads (the
    # documents define their own terms inline).
    config.CONFIG = SimpleNamespace(context_urls=None, context_file_paths=None)
    with open(sys.argv[1], encoding="utf-8") as source:
        documents = json.load(source)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    timings = []
    for _ in range(rounds):
        handler = CertificateBatchWebHandler(
            secret_manager=None,
            certificate_handler=CertificateWebV3Handler(None),
            merkle_tree=MerkleTreeGenerator(),
            config=None,
        )
        handler.set_certificates_in_batch(documents)
        # prepare_batch, in its three parts.
        started = time.perf_counter()
        for document in documents:
            handler.certificate_handler.validate_certificate(document)
        validated = time.perf_counter()
        handler.merkle_tree.populate(handler.get_certificate_generator())
        hashed = time.perf_counter()
        root = handler.merkle_tree.get_blockchain_data()
        done = time.perf_counter()
        timings.append(
            {"validate": validated - started, "hash": hashed - validated, "tree": done - hashed}
        )
    leaves = [str(leaf.hex()) for leaf in handler.merkle_tree.tree.leaves]
    print(json.dumps({"timings": timings, "root": root.hex(), "leaves": leaves}))


if __name__ == "__main__":
    main()
