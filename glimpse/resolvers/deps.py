"""What every operation needs, assembled once by the composition root (glimpse.app)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from glimpse.core.config import Settings
from glimpse.core.db import Database
from glimpse.policy.rules import Policy
from glimpse.stores.registry import StoreRegistry


@dataclass
class Deps:
    """Settings, database, stores and policy. ``extras`` holds optional services (task wake-up,
    event bus) that later layers register without widening this class for everyone."""

    settings: Settings
    db: Database
    stores: StoreRegistry
    policy: Policy
    extras: dict[str, Any] = field(default_factory=dict)
