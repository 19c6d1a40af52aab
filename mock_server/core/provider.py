"""What the engine knows of a provider: one protocol, declared data instead of ``getattr``
(decision D88). :class:`ProviderBase` gives the defaults a provider does not need to say."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from bgmock.server.core.accounts import Account, LimitRecord, NoLimits

if TYPE_CHECKING:
    from bgmock.server.core.dispatch import ProviderApp
    from bgmock.server.core.engine import Engine


class Provider(Protocol):
    name: str
    prefix: str                           # "/topview": where the mock serves it
    hosts: tuple[str, ...]                # its real host names (Host routing, D65)
    cloudfront_origins: Mapping[str, str]  # CloudFront distribution -> bucket (URL style)
    limits: type[LimitRecord]             # its per-account limits (``Account.extra``)

    def new_account(self, engine: Engine, key: str, secret: str) -> Account: ...
    def fresh_state(self) -> Any: ...
    def seed(self, engine: Engine) -> None: ...  # fixtures and the config file's accounts
    def app(self, engine: Engine) -> ProviderApp: ...


class ProviderBase:
    """Defaults: no real hosts, no CloudFront, no limits beyond credits, no state."""

    name: ClassVar[str]
    prefix: ClassVar[str]
    hosts: ClassVar[tuple[str, ...]] = ()
    cloudfront_origins: ClassVar[Mapping[str, str]] = {}
    limits: ClassVar[type[LimitRecord]] = NoLimits

    def new_account(self, engine: Engine, key: str, secret: str) -> Account:
        return Account(self.name, key, secret, extra=self.limits())

    def fresh_state(self) -> Any:
        return None

    def seed(self, engine: Engine) -> None:
        return None
