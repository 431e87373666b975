"""A real S3 API for tests: moto in server mode on a free port, started and stopped by its own pid."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from common.processes import free_port

# The tracking server's credentials for moto (it accepts any); clients get none of them.
SERVER_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "moto-test-key", "AWS_SECRET_ACCESS_KEY": "moto-test-secret", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class MotoS3:
    process: subprocess.Popen
    endpoint: str
    log_path: Path

    def client(self):
        import boto3

        creds = SERVER_CREDENTIALS
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
            region_name=creds["AWS_DEFAULT_REGION"],
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def server_env(self, endpoint: str | None = None) -> dict[str, str]:
        """What the tracking server needs to use this S3 (endpoint may be a proxy in front of it)."""
        return {**SERVER_CREDENTIALS, "MLFLOW_S3_ENDPOINT_URL": endpoint or self.endpoint}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_moto(folder: Path, *, timeout_s: float = 30.0) -> MotoS3:
    port = free_port()
    log_path = Path(folder) / "moto.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    moto = MotoS3(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto exited with {process.returncode}: {moto.log()}")
        try:
            urllib.request.urlopen(f"{moto.endpoint}/moto-api/", timeout=1).close()
            return moto
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    moto.stop()
    raise RuntimeError(f"moto did not answer within {timeout_s:.0f} s: {moto.log()}")
