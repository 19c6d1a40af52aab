"""Every knob in one typed place.

CLI flags and `BGMOCK_<NAME>` environment variables map onto the same fields; a JSON or TOML
config file (``--config``) may set any field plus ``accounts``. Precedence, lowest first:
defaults, config file, environment, command line.

Every value is checked (type and range) where it enters, and the error names where it came
from: ``BGMOCK_PORT: expected an integer, got 'abc'``, ``bgmock.json: speed: must be > 0``.

The mock's own knobs are :class:`CoreSettings`; each provider declares its own in a settings
record with its checks (``bgmock.server.providers.SETTINGS``, D87), which :class:`Settings`
carries as flat fields ``<provider>_<name>`` (``aidge_url_ttl``: the names users' scripts
already use) and hands out typed by :meth:`CoreSettings.provider`.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, make_dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

from bgmock.server.checks import (  # noqa: F401 - re-exported: providers check config records
    Check,
    _show,
    boolean,
    check_record,
    choice,
    integer,
    number,
    plain,
    printable,
    text,
)
from bgmock.server.providers import SETTINGS as PROVIDER_SETTINGS

KiB = 1024
MiB = 1024 * 1024
GiB = 1024 * MiB
MAX_CONFIG_BYTES = 10 * MiB


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
    # One log line per request (uvicorn's access log); off by default: the journal records
    # every request, and the line per request costs a third of the hot path's throughput (D160).
    access_log: bool = False
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
    # The server process (D50-D54): connection limits and timeouts, in seconds.
    max_connections: int = 1000
    max_header_bytes: int = 64 * KiB            # request line + headers
    max_headers: int = 100
    header_timeout: float = 10.0                # a request's head must arrive within this
    keep_alive_timeout: float = 65.0            # above clients' pool expiry (httpx/node 5 s)
    shutdown_timeout: float = 5.0               # grace period for in-flight requests
    # Outbound callbacks (core/webhooks.py, D110-D113): retry waits in mock seconds, the
    # per-attempt timeout (wall seconds), an optional host allowlist, the bounds.
    webhook_retries: tuple[float, ...] = (5.0, 30.0, 120.0)
    webhook_timeout: float = 5.0
    webhook_allowlist: tuple[str, ...] = ()     # empty: any host (localhost included)
    webhook_concurrency: int = 16
    webhook_queue: int = 1000
    webhook_journal_size: int = 1000
    # `bgmock serve`'s image work (D150): worker processes; None: one per core, 0: threads.
    imaging_processes: int | None = None
    # A recording (``bgmock check --record DIR``) whose answers win where a request matches
    # one (core/replay.py, D244); None: no replay.
    replay: str | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            try:
                value = CHECKS[f.name](getattr(self, f.name))
            except ValueError as exc:
                raise ValueError(_named(f.name, exc)) from None
            object.__setattr__(self, f.name, value)

    def provider(self, name: str) -> Any:
        """``name``'s own settings as its typed record (``settings.provider("aidge").url_ttl``)."""
        record = PROVIDER_SETTINGS[name]
        return record(**{f.name: getattr(self, f"{name}_{f.name}") for f in fields(record)})


def _provider_fields() -> list[tuple[str, Any, Any]]:
    found = []
    for provider, record in PROVIDER_SETTINGS.items():
        for spec in fields(record):
            assert spec.default is not MISSING, f"{provider}.{spec.name} needs a default"
            found.append((f"{provider}_{spec.name}", spec.type, field(default=spec.default)))
    return found


# The mock's knobs plus every provider's, flat: ``Settings(aidge_url_ttl=60)``.
Settings = make_dataclass(
    "Settings", _provider_fields(), bases=(CoreSettings,), frozen=True,
    namespace={"__doc__": "Every setting: the mock's and each provider's (``<provider>_<name>``)."})
Settings.__module__ = __name__


# -- checks: each takes a typed value and returns it (normalised) or raises ValueError ---------


def _named(name: str, exc: ValueError) -> str:
    """``name: problem``, or ``name.part: problem`` when the problem is inside the value."""
    problem = str(exc)
    return f"{name}{problem}" if problem.startswith((".", "[")) else f"{name}: {problem}"


def _url(value: Any) -> str | None:
    value = text(2048, optional=True)(value)
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"expected an http(s) URL, got {_show(value)}")
    return value


def _hosts(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of hosts, got {_show(value)}")
    if len(value) > 1000:
        raise ValueError("more than 1000 hosts")
    host = text(253)
    return tuple(host(item) for item in value)


def _accounts(value: Any) -> dict[str, list[dict[str, Any]]]:
    """The shape only (provider -> list of tables); each provider checks its own fields."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a table of providers, got {_show(value)}")
    for provider, specs in value.items():
        where = f".{plain(provider)}"
        if not isinstance(specs, list):
            raise ValueError(f"{where}: expected a list of accounts, got {_show(specs)}")
        if len(specs) > 10_000:
            raise ValueError(f"{where}: more than 10000 accounts")
        for i, spec in enumerate(specs):
            if not isinstance(spec, dict):
                raise ValueError(f"{where}[{i}]: expected a table, got {_show(spec)}")
    return value


def _retries(value: Any) -> tuple[float, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of seconds, got {_show(value)}")
    if len(value) > 10:
        raise ValueError("more than 10 retries")
    wait = number(0, 86400)
    return tuple(float(wait(item)) for item in value)


BYTES = integer(1, 64 * GiB)
CHECKS: dict[str, Check] = {
    "host": text(253),
    "port": integer(0, 65535),
    "clock": choice("real", "virtual"),
    "speed": number(0.001, 1_000_000),
    "instant": boolean,
    "seed": integer(0, 2**64 - 1, optional=True),
    "config": text(4096, optional=True),
    "public_url": _url,
    "admin_token": text(256, optional=True),
    "log_level": choice("critical", "error", "warning", "info", "debug"),
    "access_log": boolean,
    "max_upload_bytes": BYTES,
    "max_image_bytes": BYTES,
    "max_image_pixels": integer(1, 1_000_000_000),
    "journal_size": integer(1, 1_000_000),
    "max_stored_bytes": BYTES,
    "allow_fetch": boolean,
    "fetch_allowlist": _hosts,
    "fetch_timeout": number(0, 300, above=True),
    "accounts": _accounts,
    "max_connections": integer(1, 1_000_000),
    "max_header_bytes": integer(1 * KiB, 16 * MiB),
    "max_headers": integer(1, 10_000),
    "header_timeout": number(0, 3600, above=True),
    "keep_alive_timeout": number(0, 3600, above=True),
    "shutdown_timeout": number(0, 3600, above=True),
    "webhook_retries": _retries,
    "webhook_timeout": number(0, 300, above=True),
    "webhook_allowlist": _hosts,
    "webhook_concurrency": integer(1, 1000),
    "webhook_queue": integer(1, 1_000_000),
    "webhook_journal_size": integer(1, 1_000_000),
    "imaging_processes": integer(0, 64, optional=True),
    "replay": text(4096, optional=True),
}
CHECKS.update({f"{provider}_{name}": check for provider, record in PROVIDER_SETTINGS.items()
               for name, check in record.CHECKS.items()})
_FIELDS = {f.name: f for f in fields(Settings)}
assert set(CHECKS) == set(_FIELDS), "every setting needs a check"


# -- text from the environment or the command line -> typed values -----------------------------

def _parse_text(name: str, raw: str) -> Any:
    """A string (env var / CLI flag) as the field's type; the check then ranges it."""
    default = _FIELDS[name].default
    stripped = raw.strip()
    if name == "accounts":
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    if name in ("fetch_allowlist", "webhook_allowlist", "webhook_retries"):
        parts = [part.strip() for part in raw.split(",") if part.strip()]
        if name != "webhook_retries":
            return parts
        try:
            return [float(part) for part in parts]
        except ValueError:
            raise ValueError(f"expected seconds separated by commas, got {_show(raw)}") from None
    if isinstance(default, bool):
        lowered = stripped.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected a boolean (true/false), got {_show(raw)}")
    if isinstance(default, int) or name in ("seed", "imaging_processes"):
        if name in ("seed", "imaging_processes") and stripped.lower() in ("", "none"):
            return None
        try:
            return int(stripped)
        except ValueError:
            raise ValueError(f"expected an integer, got {_show(raw)}") from None
    if isinstance(default, float):
        try:
            return float(stripped)
        except ValueError:
            raise ValueError(f"expected a number, got {_show(raw)}") from None
    if default is None and not stripped:
        return None  # e.g. BGMOCK_ADMIN_TOKEN="": no token
    return raw


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The file's settings, or ``ValueError`` saying plainly what is wrong with it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"larger than {MAX_CONFIG_BYTES // MiB} MiB")
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    toml = str(path).endswith(".toml")
    try:
        values = tomllib.loads(content) if toml else json.loads(content)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ValueError(f"not valid {'TOML' if toml else 'JSON'}: {exc}") from None
    if not isinstance(values, dict):
        raise ValueError(f"expected a {'table' if toml else 'JSON object'} of settings, "
                         f"got {type(values).__name__}")
    return values


def from_mapping(base: Settings, values: Mapping[str, Any],
                 label: Callable[[str], str] = str, parse_text: bool = False) -> Settings:
    """``base`` with ``values`` applied; every error starts with ``label(name)``."""
    changes = {}
    for name, value in values.items():
        if name not in _FIELDS:
            close = difflib.get_close_matches(str(name), _FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{label(plain(name))}: unknown setting{hint}")
        try:
            if parse_text and isinstance(value, str):
                value = _parse_text(name, value)
            changes[name] = CHECKS[name](value)
        except ValueError as exc:
            raise ValueError(_named(label(name), exc)) from None
    return replace(base, **changes)


def env_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    return {
        name: environ[f"BGMOCK_{name.upper()}"]
        for name in _FIELDS
        if f"BGMOCK_{name.upper()}" in environ
    }


def resolve_sources(cli: Mapping[str, Any] | None = None,
                    environ: Mapping[str, str] | None = None) -> tuple[Settings, dict[str, str]]:
    """Defaults < config file < environment < command line; also where each setting came from
    (``--port``, ``BGMOCK_PORT`` or the config file's path), for error messages."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env = env_values(environ)
    settings, sources = Settings(), {}
    config_path = cli.get("config") or env.get("config")
    if config_path:
        config_path = str(config_path)
        try:
            values = load_config_file(config_path)
            settings = from_mapping(settings, values)
        except ValueError as exc:
            raise ValueError(f"{printable(config_path)}: {exc}") from None
        sources.update(dict.fromkeys(values, printable(config_path)))
    settings = from_mapping(settings, env, lambda name: f"BGMOCK_{name.upper()}", True)
    sources.update({name: f"BGMOCK_{name.upper()}" for name in env})
    settings = from_mapping(settings, cli, lambda name: "--" + name.replace("_", "-"), True)
    sources.update({name: "--" + name.replace("_", "-") for name in cli})
    return settings, sources


def resolve(cli: Mapping[str, Any] | None = None,
            environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults < config file < environment < command line."""
    return resolve_sources(cli, environ)[0]
