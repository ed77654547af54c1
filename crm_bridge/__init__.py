"""CRM bridge: identity, outbox, connectors, deflection sync (issue #8; not built yet)."""
