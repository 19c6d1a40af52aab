"""Accounts per provider: credentials, credits (with reservations for running tasks) and limits."""

from __future__ import annotations

import hmac
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Account:
    provider: str
    key: str
    secret: str
    credits: float = 1000.0
    concurrency: int = 8
    reserved: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> float:
        return self.credits - self.reserved

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["available"] = self.available
        return data


EDITABLE = ("secret", "credits", "concurrency", "extra")


class Accounts:
    def __init__(self) -> None:
        self._accounts: dict[tuple[str, str], Account] = {}

    def add(self, account: Account) -> Account:
        self._accounts[(account.provider, account.key)] = account
        return account

    def get(self, provider: str, key: str) -> Account | None:
        return self._accounts.get((provider, key))

    def select(self, provider: str | None = None) -> list[Account]:
        return [a for a in self._accounts.values() if provider is None or a.provider == provider]

    def upsert(self, provider: str, key: str, changes: dict[str, Any]) -> Account:
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise ValueError(f"not editable: {', '.join(unknown)}")
        account = self.get(provider, key)
        if account is None:
            if "secret" not in changes:
                raise ValueError("a new account needs a secret")
            account = self.add(Account(provider, key, changes["secret"]))
        for name, value in changes.items():
            if name == "extra":
                account.extra.update(value)  # provider limits: change only those given
            else:
                setattr(account, name, value)
        return account

    def authenticate(self, provider: str, key: str | None, secret: str | None) -> Account | None:
        if not key or secret is None:
            return None
        account = self.get(provider, key)
        if account is None or not hmac.compare_digest(account.secret.encode(), secret.encode()):
            return None
        return account

    @staticmethod
    def reserve(account: Account, cost: float) -> bool:
        """Hold ``cost`` credits for a task; False when the account cannot cover it."""
        if cost > account.available + 1e-9:
            return False
        account.reserved += cost
        return True

    @staticmethod
    def settle(account: Account, cost: float, charge: bool) -> None:
        """Release a reservation, charging it only when the task succeeded."""
        account.reserved = max(0.0, account.reserved - cost)
        if charge:
            account.credits = round(account.credits - cost, 6)
