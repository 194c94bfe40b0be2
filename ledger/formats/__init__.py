"""Credential formats the ledger hands to learners: one package per format, each building a
document for a credential version, giving its anchor-tree leaf, and verifying one."""
