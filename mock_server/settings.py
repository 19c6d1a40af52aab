"""Every knob in one typed place.

CLI flags and `BGMOCK_<NAME>` environment variables map onto the same fields; a JSON or TOML
config file (``--config``) may set any field plus ``accounts``. Precedence, lowest first:
defaults, config file, environment, command line.

The mock's own knobs are :class:`CoreSettings`; each provider declares its own in a settings
record (``mock_server.providers.SETTINGS``, D87), which :class:`Settings` carries as flat fields
``<provider>_<name>`` (``aidge_url_ttl``: the names users' scripts already use) and hands out
typed with :meth:`CoreSettings.provider`.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import MISSING, dataclass, field, fields, make_dataclass, replace
from pathlib import Path
from typing import Any, Literal

from mock_server.providers import SETTINGS as PROVIDER_SETTINGS

MiB = 1024 * 1024


@dataclass(frozen=True)
class CoreSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    clock: Literal["real", "virtual"] = "real"
    speed: float = 1.0
    instant: bool = False
    seed: int | None = None   # None: fresh ids per start and reset; N: the same ids each run
    config: str | None = None
    # Base URL written into result/upload URLs; default: the URL the request came in on.
    public_url: str | None = None
    # When set, /__admin needs `Authorization: Bearer <token>`.
    admin_token: str | None = None
    log_level: str = "info"
    max_upload_bytes: int = 50 * MiB
    max_image_bytes: int = 20 * MiB
    max_image_pixels: int = 36_000_000
    journal_size: int = 1000
    max_stored_bytes: int = 1024 * MiB
    # Outbound fetching of remote image URLs (off: synthetic images instead).
    allow_fetch: bool = False
    fetch_allowlist: tuple[str, ...] = ()      # hosts; ".example.com" matches subdomains
    fetch_timeout: float = 5.0
    # Extra accounts per provider, e.g. {"topview": [{"uid": "...", "api_key": "..."}]}.
    accounts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.clock not in ("real", "virtual"):
            raise ValueError(f"clock must be 'real' or 'virtual', not {self.clock!r}")
        if not self.speed > 0:
            raise ValueError("speed must be > 0")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be in 0..65535")
        records = {}
        for provider, record in PROVIDER_SETTINGS.items():
            records[provider] = record(**{f.name: getattr(self, f"{provider}_{f.name}")
                                          for f in fields(record)})  # checks its own ranges
        object.__setattr__(self, "_providers", records)

    def provider(self, name: str) -> Any:
        """``name``'s settings record (``settings.provider("aidge").url_ttl``)."""
        return self._providers[name]  # type: ignore[attr-defined]


def _provider_fields() -> list[tuple[str, Any, Any]]:
    found = []
    for provider, record in PROVIDER_SETTINGS.items():
        for spec in fields(record):
            default = field(default=spec.default) if spec.default is not MISSING \
                else field(default_factory=spec.default_factory)  # type: ignore[arg-type]
            found.append((f"{provider}_{spec.name}", spec.type, default))
    return found


# The mock's knobs plus every provider's, flat: ``Settings(aidge_url_ttl=60)``.
Settings = make_dataclass("Settings", _provider_fields(), bases=(CoreSettings,), frozen=True,
                          namespace={"__doc__": "Every setting: the mock's and each provider's "
                                                "(``<provider>_<name>``)."})
Settings.__module__ = __name__


_FIELDS = {f.name: f for f in fields(Settings)}


def _coerce(name: str, value: Any) -> Any:
    """Turn a string (env var / CLI) or loose config value into the field's type."""
    default = getattr(Settings(), name)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"{name}: expected a boolean, got {value!r}")
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, tuple):
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return tuple(value)
    if name == "seed":
        return None if value is None or str(value).strip() == "" else int(value)
    if name == "accounts":
        return json.loads(value) if isinstance(value, str) else dict(value)
    return None if value is None else str(value)


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith(".toml"):
        return tomllib.loads(text)
    return json.loads(text)


def from_mapping(base: Settings, values: dict[str, Any]) -> Settings:
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    return replace(base, **{k: _coerce(k, v) for k, v in values.items()})


def env_values(environ: dict[str, str] | None = None) -> dict[str, str]:
    environ = dict(os.environ if environ is None else environ)
    return {
        name: environ[f"BGMOCK_{name.upper()}"]
        for name in _FIELDS
        if f"BGMOCK_{name.upper()}" in environ
    }


def resolve(cli: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Defaults < config file < environment < command line."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env = env_values(environ)
    config_path = cli.get("config") or env.get("config")
    settings = Settings()
    if config_path:
        settings = from_mapping(settings, load_config_file(config_path))
    settings = from_mapping(settings, env)
    return from_mapping(settings, cli)
