"""Accounts and tokens, request signatures, and the egress checks of outgoing webhooks."""
