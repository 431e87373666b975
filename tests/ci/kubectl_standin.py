"""A recording stand-in for kubectl (no cluster runs here). It is NOT kubectl, and says so on stderr.

Installed as `kubectl` on PATH by tests/ci/test_k8s_target.py. Every call is appended to $KUBECTL_STANDIN_RECORD
as one JSON line: argv without the program name, and for `apply -f FILE` the file's text. Answers:
- `kustomize DIR`: runs the real kubectl ($KUBECTL_STANDIN_REAL), so overlays render for real;
- `port-forward service/portal LOCAL:REMOTE`: listens on 127.0.0.1:LOCAL until terminated;
- a call matching a rule in $KUBECTL_STANDIN_RULES (JSON list of {"match": [words...], "exit": N, "stderr": "..."}):
  exits N with that stderr (rules match when their words appear in order in argv);
- anything else: exit 0 with a one-line stdout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys


def _matches(words: list[str], argv: list[str]) -> bool:
    position = 0
    for word in words:
        try:
            position = argv.index(word, position) + 1
        except ValueError:
            return False
    return True


def _record(argv: list[str]) -> None:
    entry: dict = {"argv": argv}
    if "apply" in argv and "-f" in argv:
        path = argv[argv.index("-f") + 1]
        with open(path, encoding="utf-8") as fh:
            entry["applied"] = fh.read()
    with open(os.environ["KUBECTL_STANDIN_RECORD"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def _serve(port: int) -> int:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(8)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Forwarding from 127.0.0.1:{port} (kubectl stand-in: nothing behind it)", flush=True)
    while True:
        conn, _ = listener.accept()
        conn.close()


def main(argv: list[str]) -> int:
    print(f"kubectl stand-in (tests/ci/kubectl_standin.py), not kubectl: {' '.join(argv)}", file=sys.stderr)
    _record(argv)
    if argv[:1] == ["kustomize"]:
        return subprocess.run([os.environ["KUBECTL_STANDIN_REAL"], *argv]).returncode
    for rule in json.loads(os.environ.get("KUBECTL_STANDIN_RULES", "[]")):
        if _matches(rule["match"], argv):
            print(rule.get("stderr", ""), file=sys.stderr)
            return int(rule.get("exit", 1))
    if "port-forward" in argv:
        return _serve(int(argv[argv.index("port-forward") + 2].split(":")[0]))
    print("stand-in: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
