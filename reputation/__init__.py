"""Reputation: points ledger, ranks, badges, social value (issue #6; not built yet)."""
