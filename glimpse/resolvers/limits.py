"""Where per-project limits come from: ``[quotas]`` or Keystone's unified limits.

The quota code (resolvers.quotas, the create path) asks :func:`project_limits` and does not
care about the source. By default limits are the deployment-wide ``[quotas]`` settings. With
``keystone.limits`` on, they are read from Keystone as Glance does through oslo.limit: the
project's own limit for each resource of the ``image`` service, else the registered default,
else 0 (a resource nobody registered is not granted, oslo.limit's rule). A negative limit is
unlimited. Answers are cached per project for ``keystone.limits_cache_seconds`` and then
refreshed in the background, so a limit changed at Keystone applies within about that time,
a busy project costs Keystone few calls, and a quota check inside a write transaction does
not wait on Keystone (creating an image, outside any transaction, warms its project's entry).

Resource names and units are Glance's: ``image_size_total`` and ``image_stage_total`` in
MiB, ``image_count_total`` and ``image_count_uploading`` in images.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from glimpse.core.config import QuotaSettings
from glimpse.core.errors import ServiceUnavailable
from glimpse.policy.keystone import KeystoneSession
from glimpse.resolvers.deps import Deps

log = logging.getLogger(__name__)
RESOURCES: Final = (
    "image_size_total",
    "image_stage_total",
    "image_count_total",
    "image_count_uploading",
)
UNLIMITED: Final = -1


@dataclass(frozen=True)
class ProjectLimits:
    """The limits of one project; ``-1`` is unlimited. Sizes in MiB."""

    image_size_total: int = UNLIMITED
    image_stage_total: int = UNLIMITED
    image_count_total: int = UNLIMITED
    image_count_uploading: int = UNLIMITED

    @property
    def any_limited(self) -> bool:
        return any(getattr(self, name) >= 0 for name in RESOURCES)


class LimitSource(Protocol):
    async def project_limits(self, project_id: str) -> ProjectLimits: ...


class SettingsLimits:
    """The same ``[quotas]`` limits for every project."""

    def __init__(self, quotas: QuotaSettings) -> None:
        self._limits = ProjectLimits(
            image_size_total=quotas.image_size_total,
            image_stage_total=quotas.image_stage_total,
            image_count_total=quotas.image_count,
        )

    async def project_limits(self, project_id: str) -> ProjectLimits:
        return self._limits


class KeystoneLimits:
    """Unified limits read from Keystone with a system-scoped service token."""

    def __init__(
        self,
        session: KeystoneSession,
        *,
        ttl: float = 60.0,
        service_type: str = "image",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session, self._ttl, self._clock = session, ttl, clock
        self._service_type = service_type
        self._service_id: str | None = None
        self._region = session.settings.region_name or None
        self._cache: dict[str, tuple[float, ProjectLimits]] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        for task in list(self._refreshing.values()):
            task.cancel()
        await self.session.aclose()

    async def project_limits(self, project_id: str) -> ProjectLimits:
        """The project's limits: fresh from the cache; past ``ttl`` the cached value is
        still answered while one background refresh runs (quota checks run inside write
        transactions and must not wait on Keystone there); only a project seen for the
        first time, or not refreshed for ten TTLs, waits for Keystone."""
        now = self._clock()
        hit = self._cache.get(project_id)
        if hit is not None and now < hit[0]:
            return hit[1]
        if hit is not None and now < hit[0] + 9 * self._ttl:
            self._refresh_later(project_id)
            return hit[1]
        async with self._lock:
            hit = self._cache.get(project_id)
            if hit is not None and self._clock() < hit[0]:
                return hit[1]
            return await self._refresh(project_id)

    async def _refresh(self, project_id: str) -> ProjectLimits:
        limits = await self._fetch(project_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[project_id] = (self._clock() + self._ttl, limits)
        return limits

    def _refresh_later(self, project_id: str) -> None:
        if project_id in self._refreshing:
            return

        async def run() -> None:
            try:
                await self._refresh(project_id)
            except Exception:  # Keystone down: keep answering the last known limits
                log.warning("could not refresh the limits of project %s", project_id)
            finally:
                self._refreshing.pop(project_id, None)

        self._refreshing[project_id] = asyncio.get_running_loop().create_task(run())

    async def _fetch(self, project_id: str) -> ProjectLimits:
        service = await self._service()
        base = {"service_id": service, **({"region_id": self._region} if self._region else {})}
        own = await self._list("/limits", "limits", {**base, "project_id": project_id})
        defaults = await self._list("/registered_limits", "registered_limits", base)
        values = {
            name: own.get(name, defaults.get(name, 0)) for name in RESOURCES
        }  # unregistered: 0
        return ProjectLimits(**values)

    async def _list(self, path: str, key: str, params: dict[str, str]) -> dict[str, int]:
        response = await self.session.request("GET", path, params=params)
        if response.status_code != 200:
            raise ServiceUnavailable(f"The identity service refused to list {key}")
        field = "resource_limit" if key == "limits" else "default_limit"
        items: list[dict[str, Any]] = response.json().get(key) or []
        return {
            str(i["resource_name"]): int(i[field])
            for i in items
            if i.get("resource_name") in RESOURCES and isinstance(i.get(field), int)
        }

    async def _service(self) -> str:
        if self._service_id is None:
            response = await self.session.request(
                "GET", "/services", params={"type": self._service_type}
            )
            found = response.json().get("services") if response.status_code == 200 else None
            if not found:
                raise ServiceUnavailable(
                    f"No '{self._service_type}' service is registered in the identity service"
                )
            self._service_id = str(found[0]["id"])
        return self._service_id


async def project_limits(deps: Deps, project_id: str) -> ProjectLimits:
    """The limits that apply to ``project_id`` (from the source the deployment configured)."""
    source: LimitSource | None = deps.extras.get("limits")
    if source is None:
        source = SettingsLimits(deps.settings.quotas)
    return await source.project_limits(project_id)
