"""The parts of the package setuptools builds from C: anchors.rdfc_native, RDFC-1.0's
canonicalization of the ledger's documents (anchors/rdfc.py and
ledger/formats/blockcerts/document_quads.py are its oracles and its fallback), and
ledger.domain.json_numbers, the test for integers beyond 64 bits that every JSON text read
goes through (ledger/domain/json_text.py holds its oracle and fallback). Both builds are
optional: without a C compiler or OpenSSL's headers the package is still whole. Everything
else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "anchors.rdfc_native",
            sources=["anchors/rdfc_native.c", "anchors/rdfc_tree.c"],
            depends=["anchors/rdfc_native.h"],
            libraries=["crypto"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        Extension(
            "ledger.domain.json_numbers",
            sources=["ledger/domain/json_numbers.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
    ]
)
