"""Server settings, pre-flight checks and the `mlflow server` command line they produce.

Pure standard library (SQLAlchemy only inside the database reachability check): safe to import anywhere.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from common.names import LOCAL_SERVER_HOST, LOCAL_SERVER_PORT, SERVER_PID_FILE
from common.paths import mlflow_dir

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
    enable_jobs: bool = False
    var_dir: Path = field(default_factory=default_var_dir)

    def __post_init__(self) -> None:
        self.var_dir = Path(self.var_dir)
        if not self.backend_store_uri:
            self.backend_store_uri = f"sqlite:///{(self.var_dir / 'mlflow.db').resolve()}"
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
        """PostgreSQL URIs without a driver use psycopg 3 (the driver installed here), not psycopg2."""
        uri = self.backend_store_uri
        parts = urlsplit(uri)
        if parts.scheme in ("postgresql", "postgres") and not _has_module("psycopg2"):
            return urlunsplit(parts._replace(scheme="postgresql+psycopg"))
        return uri

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
            root = str(Path(__file__).resolve().parent.parent)  # the server imports mlruns_server.read_only
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        return env


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def masked(uri: str) -> str:
    """A URI with its password replaced by ***."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ServerError(f"port {port} on {host} is already in use (another server running? stop it or pass --port)") from exc
            raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def check_backend(config: ServerConfig, *, timeout_s: int = 5) -> None:
    """Fail fast, with one line, when the backend store cannot be used."""
    uri = config.backend_store_uri
    scheme = config.backend_scheme
    if scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not path or path == ":memory:":
            raise ServerError(f"backend store {uri} must be a SQLite file (sqlite:///path/to/mlflow.db)")
        folder = Path(path).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServerError(f"cannot create the folder {folder} for backend store {uri}: {exc.strerror or exc}") from exc
        if not os.access(folder, os.W_OK):
            raise ServerError(f"backend store folder {folder} is not writable")
        return
    if scheme in ("postgresql", "postgres", "mysql", "mssql"):
        import sqlalchemy

        connect_args = {"connect_timeout": timeout_s} if scheme != "mssql" else {}
        try:
            engine = sqlalchemy.create_engine(config.effective_backend_uri(), connect_args=connect_args, poolclass=sqlalchemy.pool.NullPool)
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("SELECT 1"))
        except Exception as exc:  # driver errors vary; the first line of the message is what matters
            first = next((line.strip() for line in str(getattr(exc, "orig", None) or exc).splitlines() if line.strip()), type(exc).__name__)
            raise ServerError(f"backend store {masked(uri)} is unreachable: {first}") from exc
        return
    if scheme in ("file", ""):
        raise ServerError(f"backend store {uri}: use a database URI (sqlite:///... or postgresql://...); file stores are deprecated")
    raise ServerError(f"backend store {masked(uri)}: unsupported scheme {scheme!r}")


def check_auth_env(config: ServerConfig) -> None:
    """No default password: without the admin credentials the server does not start with auth on."""
    if not config.needs_auth:
        return
    missing = [name for name in AUTH_ENV if not os.environ.get(name)]
    reader = [name for name in READER_ENV if os.environ.get(name)]
    if reader and len(reader) < len(READER_ENV):
        missing += [name for name in READER_ENV if name not in reader]
    if not missing:
        return
    why = "--auth needs" if config.loopback else f"listening on {config.host} (beyond loopback) turns basic auth on and needs"
    raise ServerError(f"{why} {', '.join(missing)} (set them in the environment or .env; there is no default password)")


def write_auth_config(config: ServerConfig) -> Path:
    """MLflow's basic-auth ini, with its user database beside the tracking data (not in the working directory)."""
    path = config.auth_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = (config.var_dir / "basic_auth.db").resolve()
    path.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{db}\n"
        "authorization_function = mlruns_server.read_only:authenticate_request\n"
        "grant_default_workspace_access = false\n",
        encoding="utf-8",
    )
    return path


def prepare_artifacts(config: ServerConfig) -> None:
    dest = config.artifacts_destination
    if dest.startswith("s3://"):
        check_s3_destination(dest)
        return
    if "://" in dest and not dest.startswith("file://"):
        return  # gs://, wasbs://, ... : the server checks those itself
    folder = Path(dest.removeprefix("file://"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServerError(f"cannot create the artifacts folder {folder}: {exc.strerror or exc}") from exc


def check_s3_destination(dest: str, *, environ: dict | None = None, timeout_s: float = 5.0) -> None:
    """The bucket of an s3:// destination exists and these credentials may use it (MLFLOW_S3_ENDPOINT_URL for
    MinIO and other S3 APIs, the standard AWS_* variables or an instance role for the credentials)."""
    env = os.environ if environ is None else environ
    parts = urlsplit(dest)
    bucket, endpoint = parts.netloc, env.get("MLFLOW_S3_ENDPOINT_URL") or None
    if not bucket:
        raise ServerError(f"artifacts destination {dest}: no bucket (use s3://BUCKET/PATH)")
    try:
        import boto3
        import botocore.config
        import botocore.exceptions as errors
    except ImportError as exc:
        raise ServerError(f"artifacts destination {dest} needs boto3 (pinned in pyproject.toml and requirements/mlflow.txt)") from exc
    where = f"at {endpoint}" if endpoint else "on AWS"
    retries = botocore.config.Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1})
    try:
        boto3.client("s3", endpoint_url=endpoint, config=retries).head_bucket(Bucket=bucket)
    except errors.NoCredentialsError as exc:
        raise ServerError(f"artifacts destination {dest}: no S3 credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)") from exc
    except (errors.EndpointConnectionError, errors.ConnectTimeoutError, errors.ReadTimeoutError) as exc:
        raise ServerError(f"artifacts destination {dest}: the S3 endpoint {endpoint or 'of AWS'} is unreachable ({exc})") from exc
    except errors.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            raise ServerError(f"artifacts destination {dest}: the bucket {bucket!r} does not exist {where}") from exc
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            denied = f"access to the bucket {bucket!r} {where} is denied (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
            raise ServerError(f"artifacts destination {dest}: {denied}") from exc
        raise ServerError(f"artifacts destination {dest}: S3 {where} answered {code or exc}") from exc
