"""Pre-flight checks before the MLflow server starts: the port, the backend store, the auth settings, the artifact
store (a local folder, or an S3 bucket that must answer); each failure is one ServerError line."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mlruns_server.config import AUTH_ENV, READER_ENV, ServerConfig, ServerError


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
        _check_connects(config.effective_backend_uri(), f"backend store {masked(uri)}", timeout_s)
        return
    if scheme in ("file", ""):
        raise ServerError(f"backend store {uri}: use a database URI (sqlite:///... or postgresql://...); file stores are deprecated")
    raise ServerError(f"backend store {masked(uri)}: unsupported scheme {scheme!r}")


def _check_connects(uri: str, what: str, timeout_s: int) -> None:
    import sqlalchemy

    connect_args = {"connect_timeout": timeout_s} if not uri.startswith("mssql") else {}
    try:
        engine = sqlalchemy.create_engine(uri, connect_args=connect_args, poolclass=sqlalchemy.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT 1"))
    except Exception as exc:  # driver errors vary; the first line of the message is what matters
        first = next((line.strip() for line in str(getattr(exc, "orig", None) or exc).splitlines() if line.strip()), type(exc).__name__)
        raise ServerError(f"{what} is unreachable: {first}") from exc


def check_auth_database(config: ServerConfig, *, timeout_s: int = 5) -> None:
    """The user database of basic auth, when it is a server (MLFLOW_AUTH_DATABASE_URI): reachable, or one line."""
    if config.needs_auth and not config.auth_database_uri.startswith("sqlite"):
        _check_connects(config.effective_auth_database_uri(), f"auth user database {masked(config.auth_database_uri)}", timeout_s)


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
    """MLflow's basic-auth ini: its user database is MLFLOW_AUTH_DATABASE_URI (one for every replica), else beside
    the tracking data (not in the working directory). The file holds the URI, so it is readable by its owner only."""
    path = config.auth_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = {config.effective_auth_database_uri()}\n"
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
