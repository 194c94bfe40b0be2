"""The auditor: replays the whole public history (from the stores, or over HTTP through
``remote_sources``) and re-derives every signature, binding, checkpoint and anchor."""
