"""The mock's admin API (``/__admin``) as async calls: what a check needs of a mock target
(reset, clock, faults, accounts). A live target has none."""

from __future__ import annotations

from typing import Any

import httpx


class AdminError(RuntimeError):
    """The admin API refused a call (its status and answer)."""


class AsyncAdmin:
    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, f"{self.base_url}/__admin{path}", **kwargs)
        if response.status_code >= 400:
            raise AdminError(f"admin {method} {path}: HTTP {response.status_code}: "
                             f"{response.text[:200]}")
        return response.json()

    async def health(self) -> dict[str, Any]:
        return await self.call("GET", "/health")

    async def reset(self) -> None:
        await self.call("POST", "/reset")

    async def clock(self) -> dict[str, Any]:
        return await self.call("GET", "/clock")

    async def now(self) -> float:
        """The mock's clock (epoch seconds): what a signer must stamp its requests with."""
        return float((await self.clock())["now"])

    async def advance(self, seconds: float) -> dict[str, Any]:
        return await self.call("POST", "/clock/advance", json={"seconds": seconds})

    async def fault(self, provider: str, fault: str, operation: str = "*",
                    key: str | None = None, count: int | None = None,
                    match: dict[str, str] | None = None) -> dict[str, Any]:
        rule: dict[str, Any] = {"provider": provider, "operation": operation, "fault": fault,
                                "key": key, "count": count}
        if match is not None:
            rule["match"] = match
        return await self.call("POST", "/faults", json=rule)

    async def clear_faults(self) -> None:
        await self.call("DELETE", "/faults")

    async def tasks(self, provider: str | None = None) -> list[dict[str, Any]]:
        return await self.call("GET", "/tasks",
                               params={"provider": provider} if provider else {})

    async def task(self, task_id: str) -> dict[str, Any]:
        return await self.call("GET", f"/tasks/{task_id}")

    async def account(self, provider: str, key: str) -> dict[str, Any]:
        return await self.call("GET", f"/accounts/{provider}/{key}")

    async def set_account(self, provider: str, key: str, **changes: Any) -> dict[str, Any]:
        return await self.call("PUT", f"/accounts/{provider}/{key}", json=changes)

    async def journal(self, provider: str | None = None,
                      limit: int | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("provider", provider), ("limit", limit)) if v is not None}
        return await self.call("GET", "/journal", params=params)
