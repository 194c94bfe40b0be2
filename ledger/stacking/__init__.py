"""Stacking: micro-credentials from several issuers counted toward a pathway."""
