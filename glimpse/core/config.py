"""Settings: one frozen object, read once at start-up, passed down explicitly.

Sources, later ones winning: built-in defaults, a TOML file (``GLIMPSE_CONFIG`` or
``<data_dir>/glimpse.toml`` when present), then ``GLIMPSE_*`` environment variables. A
top-level field ``foo`` reads ``GLIMPSE_FOO``; a field ``bar`` of section ``auth`` reads
``GLIMPSE_AUTH_BAR``. Structured values (store tables, rule overrides) are given in the
environment as JSON. Nothing reads the environment after :func:`load_settings` returns.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glimpse.core.errors import InvalidInput
from glimpse.core.hashing import DEFAULT_ALGORITHM, check_algorithm

GiB = 1024**3
TiB = 1024**4


@dataclass(frozen=True)
class StoreConfig:
    """One named blob store; ``options`` are driver-specific (path, endpoint_url, bucket...)."""

    name: str
    type: str = "filesystem"
    description: str = ""
    read_only: bool = False
    weight: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthSettings:
    """Token verification and policy choice (see glimpse.policy)."""

    secret_file: str = ""
    algorithms: tuple[str, ...] = ("HS256",)
    public_key_file: str = ""
    jwks_url: str = ""
    # Keys from jwks_url are refreshed after this long (known keys stay in use meanwhile);
    # a request waits at most jwks_max_wait_seconds for a fetch (unknown key id, cold start).
    jwks_ttl_seconds: float = 600.0
    jwks_max_wait_seconds: float = 2.0
    issuer: str = "glimpse"
    audience: str = "glimpse"
    leeway_seconds: int = 30
    default_ttl_seconds: int = 3600
    trusted_proxy: bool = False
    local_accounts: bool = True
    # Failed-login throttling, shared by all processes through the database (see
    # glimpse.policy.throttle): failures allowed per window for one user name from one
    # address, from one address, and for one name from anywhere (beyond which only
    # addresses without failures may try).
    login_failures_per_user: int = 5
    login_failures_per_address: int = 20
    login_failures_per_user_total: int = 100
    login_window_seconds: int = 300
    # argon2 verifications (64 MiB each) at once per process; a login waits this long for
    # a free slot, then gets 503.
    login_max_concurrent: int = 4
    login_wait_seconds: float = 2.0
    policy_profile: str = "glance"
    policy_overrides: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # An empty audience switched audience checks off: any token of the issuer (or the
        # service's own download links, whose audience is "<audience>#<action>") would
        # pass as a bearer token of this service.
        if not self.audience.strip():
            raise InvalidInput(
                "auth.audience must not be empty: tokens must name this service as audience"
            )


@dataclass(frozen=True)
class QuotaSettings:
    """Per-project limits; a negative value means unlimited. ``image_size_total`` and
    ``image_stage_total`` are in MiB, like Glance's unified limits."""

    image_count: int = -1
    image_size_total: int = -1
    image_stage_total: int = -1
    tags_per_image: int = 128
    properties_per_image: int = 128
    members_per_image: int = 128
    locations_per_image: int = 10


@dataclass(frozen=True)
class TaskSettings:
    """The durable task queue (glimpse.tasks)."""

    run_in_process: bool = True
    concurrency: int = 2
    lease_seconds: int = 30
    poll_seconds: float = 0.5
    ttl_seconds: int = 48 * 3600
    max_attempts: int = 5
    # Bandwidth cap of background data copies (bytes/s, 0 = none), so imports and copies
    # never starve interactive uploads and downloads on the same host.
    io_rate_limit: int = 0
    # An import lock (os_glance_import_task) without progress for this long may be taken over.
    lock_stale_seconds: int = 3600
    # Longest a task may run (seconds, 0 = no limit); then it fails and is cleaned up.
    time_limit_seconds: int = 6 * 3600
    qemu_img: str = "qemu-img"
    qemu_cpu_seconds: int = 120
    qemu_memory_bytes: int = GiB
    # Largest size a resize may ask for (bytes): a raw image is rewritten at its full size,
    # so without a ceiling one request could make a worker write a TiB.
    max_resize_size: int = 64 * GiB


@dataclass(frozen=True)
class ImportSettings:
    """Interoperable import: enabled methods and the web-download URL filter.

    Empty allow lists allow everything not denied; host names are compared normalised
    (case, trailing dot, IDNA). Addresses that are not globally routable are refused unless
    ``allow_private_addresses`` is set (tests serve files on 127.0.0.1); the check applies
    to every address the host name resolves to and to every redirect hop, and the
    connection goes to the address that was checked (see glimpse.resolvers.web_download).
    """

    methods: tuple[str, ...] = ("glance-direct", "web-download", "copy-image")
    allowed_schemes: tuple[str, ...] = ("http", "https")
    disallowed_schemes: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    disallowed_hosts: tuple[str, ...] = ()
    allowed_ports: tuple[str, ...] = ("80", "443")
    disallowed_ports: tuple[str, ...] = ()
    allow_private_addresses: bool = False
    max_redirects: int = 5
    # Per connect/read; a download as a whole ends after download_deadline_seconds.
    timeout_seconds: float = 60.0
    download_deadline_seconds: float = 3600.0
    # Import plugins (Glance's image_import_plugins), run on glance-direct and web-download
    # imports: "decompress" (gzip/zip sources, bounded: see glimpse.resolvers.decompress),
    # "convert" (qemu-img to ``convert_to``: glimpse.resolvers.convert) and
    # "inject_metadata" (``inject_properties`` set on images imported by callers without any
    # of ``inject_ignore_roles``).
    plugins: tuple[str, ...] = ()
    convert_to: str = "raw"  # the "convert" plugin's target disk format
    decompress_max_ratio: int = 100
    inject_properties: Mapping[str, str] = field(default_factory=dict)
    inject_ignore_roles: tuple[str, ...] = ("admin",)


@dataclass(frozen=True)
class GraphQLSettings:
    """Protection limits and features of /graphql."""

    max_depth: int = 12
    max_aliases: int = 30
    max_cost: int = 50_000
    introspection: bool = True
    graphiql: bool = True
    tracing: bool = False
    # Persisted queries: ``persisted_queries_file`` is a registry of allowed operations (an
    # Apollo persisted-query manifest or a {sha256: query} JSON map); with ``persisted_only``
    # nothing else runs. ``apq`` lets clients register hashes at run time (Apollo APQ).
    persisted_queries_file: str = ""
    persisted_only: bool = False
    apq: bool = True
    apq_cache_size: int = 1000
    # Documents are refused before parsing past this many characters or lexer tokens;
    # parse and validation results are cached only for documents up to cache_query_bytes,
    # within cache_total_bytes of query text per process (see glimpse.schema.documents).
    max_query_bytes: int = 64 * 1024
    max_tokens: int = 5000
    cache_query_bytes: int = 16 * 1024
    cache_total_bytes: int = 1024 * 1024
    # WebSocket: operations in flight per connection, connections per caller (user and
    # project, or client address when anonymous; per server process), and how often a
    # quiet subscription re-checks that its caller may still see what it watches.
    max_subscriptions_per_connection: int = 20
    max_connections_per_caller: int = 10
    subscription_recheck_seconds: float = 5.0


@dataclass(frozen=True)
class CacheSettings:
    """The local cache of images held in remote stores (Glance's image cache, §1.12).

    Off unless ``enabled``; files live under ``dir`` (default ``<data_dir>/cache``), at most
    ``max_size`` bytes, least recently used evicted first. ``node`` names this host's cache
    in the shared catalog (several hosts may each have one); ``stall_seconds`` is how old
    an incomplete file must be before ``clean`` removes it.
    """

    enabled: bool = False
    dir: str = ""
    max_size: int = 10 * GiB
    node: str = ""
    stall_seconds: int = 24 * 3600
    poll_seconds: float = 2.0


@dataclass(frozen=True)
class DownloadSettings:
    """How downloads are answered: ``redirect`` sends clients of stores that can presign
    (S3) a redirect to a URL valid ``redirect_ttl_seconds``, so bytes bypass the service."""

    redirect: bool = False
    redirect_ttl_seconds: int = 300
    redirect_status: int = 302


@dataclass(frozen=True)
class SignatureSettings:
    """Image signature verification (glimpse.resolvers.signatures): where the certificates
    named by ``img_signature_certificate_uuid`` live, as ``<uuid>.pem`` files. Empty: signed
    images cannot be verified, so their data is refused."""

    certificate_dir: str = ""


@dataclass(frozen=True)
class KeystoneSettings:
    """OpenStack Identity: tokens Glimpse did not issue are validated with this Keystone.

    Off while ``auth_url`` is empty. ``auth_url`` is written as OpenStack users write it
    (``http://host:5000/v3``, or the unversioned root). Glimpse authenticates as the service
    user ``username`` in ``project_name`` (the user needs a role Keystone lets validate
    tokens, e.g. ``service``). Validated tokens are cached for ``cache_ttl_seconds`` at most
    (never past their expiry), so a revoked token stops working within that time.

    ``limits`` reads per-project limits (unified limits) from Keystone instead of
    ``[quotas]``, as Glance's ``use_keystone_limits`` does; the service user then also needs
    the ``reader`` role on the system, and limits are registered for the service of type
    ``image`` (in ``region_name`` when set).
    """

    auth_url: str = ""
    username: str = ""
    password: str = ""
    project_name: str = ""
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region_name: str = ""
    timeout_seconds: float = 5.0
    cache_ttl_seconds: int = 300
    cache_size: int = 10_000
    limits: bool = False
    limits_cache_seconds: int = 60


@dataclass(frozen=True)
class Settings:
    """Everything configurable about one Glimpse deployment."""

    data_dir: Path = Path(".glimpse")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 9292
    # API worker processes; 0 picks one per CPU this process may run on (see serve_workers).
    workers: int = 0
    public_url: str = ""
    max_image_size: int = TiB
    # Glance's ``hashing_algorithm``: the secure hash behind os_hash_algo/os_hash_value.
    hashing_algorithm: str = DEFAULT_ALGORITHM
    max_json_body: int = 1024 * 1024
    page_default: int = 25
    page_max: int = 1000
    upload_lease_seconds: int = 120
    default_store: str = "local"
    stores: tuple[StoreConfig, ...] = ()
    show_multiple_locations: bool = False
    show_image_direct_url: bool = False
    # Beyond Glance: check image property values against the metadef definitions that apply
    # to images (type, enum, minimum/maximum, pattern); off by default, as Glance never checks.
    validate_image_properties: bool = False
    auth: AuthSettings = field(default_factory=AuthSettings)
    quotas: QuotaSettings = field(default_factory=QuotaSettings)
    tasks: TaskSettings = field(default_factory=TaskSettings)
    imports: ImportSettings = field(default_factory=ImportSettings)
    graphql: GraphQLSettings = field(default_factory=GraphQLSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    downloads: DownloadSettings = field(default_factory=DownloadSettings)
    keystone: KeystoneSettings = field(default_factory=KeystoneSettings)
    signatures: SignatureSettings = field(default_factory=SignatureSettings)

    @property
    def serve_workers(self) -> int:
        """The worker count ``glimpse serve`` uses: as configured, or one per usable CPU
        (each worker is one Python process, so one per core is what the machine can run)."""
        if self.workers > 0:
            return self.workers
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cpus = os.cpu_count() or 1
        return max(1, cpus)

    def __post_init__(self) -> None:
        check_algorithm(self.hashing_algorithm)  # a typo fails at start-up, not per upload

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'glimpse.db').resolve()}"

    @property
    def effective_stores(self) -> tuple[StoreConfig, ...]:
        """Configured stores, or one filesystem store under the data directory."""
        if self.stores:
            return self.stores
        path = str((self.data_dir / "images").resolve())
        return (StoreConfig(name=self.default_store, type="filesystem", options={"path": path}),)

    @property
    def cache_dir(self) -> Path:
        """Where cached image files live (only meaningful when the cache is enabled)."""
        return Path(self.cache.dir) if self.cache.dir else (self.data_dir / "cache").resolve()

    @property
    def multi_store(self) -> bool:
        """Whether the operator declared stores explicitly (Glance's multi-store mode)."""
        return len(self.stores) > 1


def load_settings(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build :class:`Settings` from defaults, the TOML file, the environment and overrides."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    data_dir = Path((overrides or {}).get("data_dir") or env.get("GLIMPSE_DATA_DIR", ".glimpse"))
    toml_path = env.get("GLIMPSE_CONFIG") or str(data_dir / "glimpse.toml")
    if Path(toml_path).is_file():
        with open(toml_path, "rb") as fh:
            raw = tomllib.load(fh)
    merged = _merge_env(Settings, raw, env, "GLIMPSE_")
    merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
    merged.setdefault("data_dir", str(data_dir))
    settings: Settings = _build(Settings, merged)
    return settings


def _merge_env(
    cls: Any, raw: dict[str, Any], env: Mapping[str, str], prefix: str
) -> dict[str, Any]:
    out = dict(raw)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if dataclasses.is_dataclass(hint):
            out[f.name] = _merge_env(
                hint, dict(out.get(f.name, {})), env, f"{prefix}{f.name.upper()}_"
            )
            continue
        key = f"{prefix}{f.name.upper()}"
        if key in env:
            out[f.name] = env[key]
    return out


def _build(cls: Any, raw: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise InvalidInput(f"unknown setting(s) in {cls.__name__}: {', '.join(sorted(unknown))}")
    kwargs = {name: _coerce(name, hints[name], value) for name, value in raw.items()}
    return cls(**kwargs)


def _coerce(name: str, hint: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value)
    if name == "stores":
        return _stores(value)
    origin = typing.get_origin(hint)
    if hint is bool:
        return (
            value
            if isinstance(value, bool)
            else str(value).strip().lower() in {"1", "true", "yes", "on"}
        )
    if hint is int:
        return int(value)
    if hint is float:
        return float(value)
    if hint is Path:
        return Path(value)
    if origin is tuple:
        items = json.loads(value) if isinstance(value, str) and value.startswith("[") else value
        if isinstance(items, str):
            items = [s.strip() for s in items.split(",") if s.strip()]
        return tuple(items)
    if origin in (Mapping, dict) or origin is typing.get_origin(Mapping[str, Any]):
        return dict(json.loads(value) if isinstance(value, str) else value)
    if isinstance(hint, types.UnionType):
        return value
    return str(value) if hint is str else value


def _stores(value: Any) -> tuple[StoreConfig, ...]:
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, Mapping):
        value = [{"name": k, **v} for k, v in value.items()]
    stores = []
    for item in value:
        item = dict(item)
        opts = {
            k: item.pop(k)
            for k in list(item)
            if k not in {f.name for f in dataclasses.fields(StoreConfig)}
        }
        opts.update(item.pop("options", {}))
        stores.append(StoreConfig(**item, options=opts))
    return tuple(stores)
