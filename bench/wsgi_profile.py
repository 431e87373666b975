"""Where a request's time goes, without the network: the portal's WSGI app called in a loop in this process.

Same settings as bench/serving.py (production settings, SQLite, write-behind log); each path's CPU per request
(this process, the log's writer thread included), then a cProfile of the classify API summarised by function.

    .venv/bin/python bench/wsgi_profile.py --bundle DIR [--requests 3000] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

from portal import manage, portal_env
from serving_rows import TEXT


def environ_for(path: str, body: bytes | None, token: str | None) -> dict:
    env = {"REQUEST_METHOD": "POST" if body is not None else "GET", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1",
           "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http", "QUERY_STRING": "",
           "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.errors": sys.stderr}  # fmt: skip
    if body is not None:
        env.update({"CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body))})
    if token:
        env["HTTP_AUTHORIZATION"] = f"Token {token}"
    env["_body"] = body or b""
    return env


def call(application, template: dict) -> int:
    environ = dict(template)
    environ["wsgi.input"] = io.BytesIO(environ.pop("_body"))
    status = []
    chunks = application(environ, lambda s, h, exc=None: status.append(s))
    b"".join(chunks)
    getattr(chunks, "close", lambda: None)()
    return int(status[0].split()[0])


def per_request_us(application, template: dict, n: int) -> float:
    for _ in range(50):
        assert call(application, template) == 200
    cpu = time.process_time()
    for _ in range(n):
        call(application, template)
    return (time.process_time() - cpu) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsgi-profile-") as tmp:
        env = portal_env(Path(tmp), args.bundle.resolve(), None)
        manage(env, "migrate", "--noinput")
        manage(env, "setup_roles", "--demo-users")
        token = re.search(r"([0-9a-f]{40})", manage(env, "drf_create_token", "tech")).group(1)
        os.environ.update(env)
        from webportal.wsgi import application

        single = json.dumps({"text": TEXT}).encode()
        paths = {
            "no-op view": environ_for("/bench/noop", None, None),
            "authenticated echo": environ_for("/bench/echo", single, token),
            "classify, 1 text": environ_for("/api/v1/classify", single, token),
        }
        for name, template in paths.items():
            print(f"{name:<22} {per_request_us(application, template, args.requests):8.0f} us CPU per request")
        profile = cProfile.Profile(time.process_time)  # CPU, not wall time: the machine is shared
        profile.enable()
        for _ in range(args.requests):
            call(application, paths["classify, 1 text"])
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
