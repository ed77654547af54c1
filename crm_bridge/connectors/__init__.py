"""Connectors to the CRMs customers run; each implements `base.Connector`.

The registry names each connector's module by import path, so a connector is only
imported when configured (and one whose module is missing fails with a clear error
instead of breaking the app)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from .base import Connector

REGISTRY = {
    "builtin": "crm_bridge.connectors.builtin",
    "webhook": "crm_bridge.connectors.webhook",
    "salesforce": "crm_bridge.connectors.salesforce",
    "hubspot": "crm_bridge.connectors.hubspot",
    "bottlecrm": "crm_bridge.connectors.bottlecrm",
}


def enabled_names(config: Mapping) -> list[str]:
    """The configured connectors, in order, without repeats (PARLEY_CRM=builtin,webhook).
    "none" or an empty value turns the bridge off."""
    raw = config.get("CRM", "builtin")
    if isinstance(raw, list | tuple):
        raw = ",".join(str(item) for item in raw)
    names: list[str] = []
    for name in str(raw or "").split(","):
        name = name.strip().lower()
        if name and name != "none" and name not in names:
            names.append(name)
    return names


def connector_class(name: str) -> type[Connector]:
    """The Connector subclass registered under `name` (its `name` attribute)."""
    path = REGISTRY.get(name)
    if path is None:
        raise ValueError(f"Unknown CRM connector {name!r}; known: {', '.join(REGISTRY)}.")
    try:
        module = importlib.import_module(path)
    except ModuleNotFoundError as error:
        raise ValueError(f"The {name} connector is not installed ({error}).") from error
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Connector)
            and value is not Connector
            and getattr(value, "name", None) == name
        ):
            return value
    raise ValueError(f"{path} defines no Connector named {name!r}.")


def build(name: str, config: Mapping) -> Connector:
    return connector_class(name).from_config(config)
