"""Connectors to the CRMs customers run; each implements `base.Connector`."""
