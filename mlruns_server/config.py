"""Server settings (read once from flags and the environment) and the `mlflow server` command line they produce.

Pure standard library: safe to import anywhere. The checks run before the server starts are in mlruns_server.preflight.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from common.names import LOCAL_SERVER_HOST, LOCAL_SERVER_PORT, SERVER_PID_FILE
from common.paths import PROJECT_ROOT, mlflow_dir

DEFAULT_HOST = LOCAL_SERVER_HOST
DEFAULT_PORT = LOCAL_SERVER_PORT
DEFAULT_WORKERS = 2
# Host headers the server answers by default: loopback and the compose service name `mlflow`, as exact names (with
# any port), and literal IPv4 addresses of the private networks. Patterns are digits only: a DNS name such as
# 10.evil.example never matches, so a rebinding name cannot reach the API (MLflow's own defaults match `10.*`).
EXACT_HOSTS = ("localhost", "127.0.0.1", "[::1]", "mlflow")
_OCTET = ("[0-9]", "[0-9][0-9]", "[0-9][0-9][0-9]")
PRIVATE_PREFIXES = ("10.", "192.168.", *(f"172.{n}." for n in range(16, 32)))


def _literal_ipv4_patterns(prefix: str) -> list[str]:
    """fnmatch patterns for every dotted-decimal address under prefix (10. -> 10.d.d.d, 192.168. -> 192.168.d.d)."""
    patterns = [prefix]
    for _ in range(4 - prefix.count(".")):
        patterns = [f"{p}.{o}" if not p.endswith(".") else f"{p}{o}" for p in patterns for o in _OCTET]
    return patterns


def host_patterns(name: str) -> list[str]:
    """An exact host name or address, alone and with any port (fnmatch-escaped: `[::1]` is a literal)."""
    if ("]:" in name) if name.startswith("[") else (":" in name):
        return [name]  # already carries its port (mlflow:5000)
    return [name, name.replace("[", "[[]") + ":*"]


def default_allowed_hosts() -> list[str]:
    hosts = [p for name in EXACT_HOSTS for p in host_patterns(name)]
    for prefix in PRIVATE_PREFIXES:
        for address in _literal_ipv4_patterns(prefix):
            # MLflow compares entries without a `*` literally; `[0-9*]` keeps the portless form a pattern (a literal
            # `*` in a Host header names nothing a resolver could answer).
            hosts += [address[:-1] + "*]", f"{address}:*"]
    return hosts


def check_exact_host(name: str) -> str:
    """An --allowed-hosts entry must be an exact name or address (with or without a port), never a pattern."""
    if not name or any(c in name for c in "*?") or ("[" in name and not name.startswith("[")) or " " in name:
        raise ServerError(f"allowed host {name!r}: give exact host names or IP addresses, not patterns")
    return name


# Environment read once, here (flags win over these).
ENV_HOST = "MLFLOW_SERVER_HOST"
ENV_PORT = "MLFLOW_SERVER_PORT"
ENV_BACKEND = "MLFLOW_BACKEND_STORE_URI"
ENV_ARTIFACTS = "MLFLOW_ARTIFACTS_DESTINATION"
ENV_ALLOWED_HOSTS = "MLFLOW_SERVER_EXTRA_ALLOWED_HOSTS"
ENV_WORKERS = "MLFLOW_SERVER_WORKERS"
ENV_VAR_DIR = "MLFLOW_SERVER_VAR_DIR"
ENV_AUTH_DATABASE = "MLFLOW_AUTH_DATABASE_URI"  # basic auth's user database: shared by every replica when given
ENV_LOCAL_DIR = "MLFLOW_LOCAL_DIR"  # the local store (common.paths.mlflow_dir) when training runs without a server: the same folder
S3_ENV = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
AUTH_ENV = ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY")
# Optional: a user who may browse (READ, MLflow's default permission) but not write; made or updated at start.
READER_ENV = ("MLFLOW_AUTH_READER_USERNAME", "MLFLOW_AUTH_READER_PASSWORD")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ServerError(RuntimeError):
    """A reason the server cannot start, worded for a one-line message."""


def default_var_dir() -> Path:
    return mlflow_dir()


@dataclass
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    backend_store_uri: str = ""
    artifacts_destination: str = ""
    allowed_hosts: tuple[str, ...] = ()
    workers: int = DEFAULT_WORKERS
    pid_file: Path | None = None
    auth: bool = False
    auth_database_uri: str = ""
    enable_jobs: bool = False
    var_dir: Path = field(default_factory=default_var_dir)

    def __post_init__(self) -> None:
        self.var_dir = Path(self.var_dir)
        if not self.backend_store_uri:
            self.backend_store_uri = f"sqlite:///{(self.var_dir / 'mlflow.db').resolve()}"
        if not self.auth_database_uri:
            self.auth_database_uri = f"sqlite:///{(self.var_dir / 'basic_auth.db').resolve()}"
        if not self.artifacts_destination:
            self.artifacts_destination = str((self.var_dir / "artifacts").resolve())
        if self.pid_file is None:
            self.pid_file = self.var_dir / SERVER_PID_FILE
        self.pid_file = Path(self.pid_file)

    @classmethod
    def from_env(cls, **overrides) -> ServerConfig:
        env = os.environ
        values = {
            "host": env.get(ENV_HOST) or DEFAULT_HOST,
            "port": int(env.get(ENV_PORT) or DEFAULT_PORT),
            "backend_store_uri": env.get(ENV_BACKEND, ""),
            "artifacts_destination": env.get(ENV_ARTIFACTS, ""),
            "auth_database_uri": env.get(ENV_AUTH_DATABASE, ""),
            "allowed_hosts": tuple(h.strip() for h in env.get(ENV_ALLOWED_HOSTS, "").split(",") if h.strip()),
            "workers": int(env.get(ENV_WORKERS) or DEFAULT_WORKERS),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")

    @property
    def needs_auth(self) -> bool:
        """Basic auth is on when asked for, and always when the server listens beyond loopback."""
        return self.auth or not self.loopback

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def backend_scheme(self) -> str:
        return urlsplit(self.backend_store_uri).scheme.split("+")[0]

    def effective_backend_uri(self) -> str:
        return with_driver(self.backend_store_uri)

    def effective_auth_database_uri(self) -> str:
        return with_driver(self.auth_database_uri)

    def all_allowed_hosts(self) -> list[str]:
        hosts = default_allowed_hosts()
        extra = list(self.allowed_hosts)
        if self.host not in ("0.0.0.0", "::", "127.0.0.1", "localhost"):
            extra.insert(0, f"[{self.host}]" if ":" in self.host else self.host)
        for name in extra:
            hosts += [p for p in host_patterns(check_exact_host(name)) if p not in hosts]
        return hosts

    def auth_config_path(self) -> Path:
        return self.var_dir / "basic_auth.ini"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--backend-store-uri",
            self.effective_backend_uri(),
            "--serve-artifacts",
            "--artifacts-destination",
            self.artifacts_destination,
            "--workers",
            str(self.workers),
            "--allowed-hosts",
            ",".join(self.all_allowed_hosts()),
        ]
        if self.needs_auth:
            cmd += ["--app-name", "basic-auth"]
        return cmd

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"
        # MLflow's background job runner (huey consumers) costs ~1.5 GB and ~7 s at start-up.
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "true" if self.enable_jobs else "false"
        env.setdefault("PYTHONUNBUFFERED", "1")
        for name in S3_ENV:  # set but empty (compose, a ConfigMap): boto3 would take "" for an endpoint or a key
            if not env.get(name):
                env.pop(name, None)
        if self.needs_auth:
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(self.auth_config_path())
            root = str(PROJECT_ROOT)  # the server imports mlruns_server.read_only
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        return env


def with_driver(uri: str) -> str:
    """PostgreSQL URIs without a driver use psycopg 3 (the driver installed here), not psycopg2."""
    parts = urlsplit(uri)
    if parts.scheme in ("postgresql", "postgres") and not _has_module("psycopg2"):
        return urlunsplit(parts._replace(scheme="postgresql+psycopg"))
    return uri


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
