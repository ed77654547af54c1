"""Moderation: flags, review queue, audit log, trust, listening (issue #7; not built yet)."""
