"""Accounts per provider: credentials, credits (with reservations for running tasks) and limits."""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

MAX_CREDITS = 1e12
MAX_CONCURRENCY = 10_000
MAX_ACCOUNTS = 10_000               # per mock: the store stays bounded
MAX_KEY = MAX_SECRET = 256          # characters
# A secret travels in an HTTP header or signs a request: visible ASCII only.
SECRET = re.compile(r"[!-~]+")



@dataclass(frozen=True)
class LimitRange:
    """One editable provider limit: an integer from ``low`` to ``high``, or ``None`` (the limit
    is off) where ``nullable``."""

    low: int
    high: int
    nullable: bool = False

    def check(self, name: str, value: Any) -> int | None:
        if value is None and self.nullable:
            return None
        if not (_is_int(value) and self.low <= value <= self.high):
            off = " or null (off)" if self.nullable else ""
            raise ValueError(f"extra.{name} must be an integer from {self.low} to "
                             f"{self.high}{off}")
        return int(value)


@dataclass
class LimitRecord:
    """A provider's own per-account limits (``Account.extra``), declared as a dataclass whose
    ``RANGES`` name every field and its range (decision D85). Values are checked on every
    write, so a limit can never hold what the provider cannot use (``{"qps": "ten"}``).
    Item access (``extra["quota"]``) reads and writes the declared fields only."""

    RANGES: ClassVar[Mapping[str, LimitRange]] = {}

    @classmethod
    def check(cls, values: Mapping[str, Any]) -> dict[str, int | None]:
        """``values`` checked by name and range (``ValueError`` naming the first problem)."""
        if not isinstance(values, Mapping):
            raise ValueError("extra must be an object")
        checked = {}
        for name, value in values.items():
            limit = cls.RANGES.get(name) if isinstance(name, str) else None
            if limit is None:
                valid = ", ".join(sorted(cls.RANGES)) or "none"
                raise ValueError(f"extra: unknown limit {_name(name)} (editable: {valid})")
            checked[name] = limit.check(name, value)
        return checked

    def update(self, values: Mapping[str, Any]) -> None:
        for name, value in self.check(values).items():
            setattr(self, name, value)

    def __getitem__(self, name: str) -> int | None:
        if name not in self.RANGES:
            raise KeyError(name)
        return getattr(self, name)  # type: ignore[no-any-return]

    def __setitem__(self, name: str, value: int | None) -> None:
        if name not in self.RANGES:
            raise KeyError(name)
        setattr(self, name, self.RANGES[name].check(name, value))


@dataclass
class NoLimits(LimitRecord):
    """A provider with no limits beyond credits and concurrency."""


@dataclass
class Account:
    """A provider-neutral account: credentials, credits (with reservations for running tasks),
    concurrency, and the provider's own limits record in ``extra``."""

    provider: str
    key: str
    secret: str
    credits: float = 1000.0
    concurrency: int = 8
    reserved: float = 0.0
    extra: LimitRecord = field(default_factory=NoLimits)

    @property
    def available(self) -> float:
        return self.credits - self.reserved

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["available"] = self.available
        return data


EDITABLE = ("secret", "credits", "concurrency", "extra")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY:
        raise ValueError(f"key must be 1 to {MAX_KEY} characters")
    try:
        key.encode()
    except UnicodeEncodeError:
        raise ValueError("key is not valid Unicode text") from None
    # U+FFFD stands where the URL's percent-escapes were not UTF-8 (%FF and %FE would be one
    # key); control characters cannot travel in the header or query that carries a key.
    if any(ch < " " or ch in "\x7f\ufffd" for ch in key):
        raise ValueError("key must be valid UTF-8 text without control characters")


def check_changes(changes: Mapping[str, Any], limits: type[LimitRecord]) -> dict[str, Any]:
    """``changes`` checked by name, type and range (``ValueError`` naming the first problem);
    ``limits`` is the provider's limits record (its editable ``extra`` names and ranges)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValueError(f"not editable: {', '.join(map(_name, unknown))}")
    checked = dict(changes)
    if "secret" in changes:
        secret = changes["secret"]
        if not (isinstance(secret, str) and len(secret) <= MAX_SECRET
                and SECRET.fullmatch(secret)):
            raise ValueError(f"secret must be 1 to {MAX_SECRET} visible ASCII characters")
    if "credits" in changes:
        credits = changes["credits"]
        if not (isinstance(credits, int | float) and not isinstance(credits, bool)
                and math.isfinite(credits) and 0 <= credits <= MAX_CREDITS):
            raise ValueError(f"credits must be a number from 0 to {MAX_CREDITS:g}")
        checked["credits"] = float(credits)
    if "concurrency" in changes:
        concurrency = changes["concurrency"]
        if not (_is_int(concurrency) and 0 <= concurrency <= MAX_CONCURRENCY):
            raise ValueError(f"concurrency must be an integer from 0 to {MAX_CONCURRENCY}")
    if "extra" in changes:
        checked["extra"] = limits.check(changes["extra"])
    return checked


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

    def upsert(self, provider: str, key: str, changes: Mapping[str, Any],
               limits: type[LimitRecord],
               new: Callable[[str, str], Account]) -> Account:
        """Create (``new(key, secret)``, then the changes) or change an account. Everything is
        checked before anything is stored: a ``ValueError`` leaves no trace."""
        checked = check_changes(changes, limits)
        account = self.get(provider, key)
        if account is None:
            check_key(key)
            if "secret" not in checked:
                raise ValueError("a new account needs a secret")
            if len(self._accounts) >= MAX_ACCOUNTS:
                raise ValueError(f"too many accounts (at most {MAX_ACCOUNTS})")
            account = new(key, checked["secret"])
        for name, value in checked.items():
            if name == "extra":
                account.extra.update(value)  # provider limits: change only those given
            else:
                setattr(account, name, value)
        return self.add(account)

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
