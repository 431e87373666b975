"""Specification-document benchmark (docs/documents.md), loopback only.

A generated 100-page PDF with 1,000 components (ten table rows a page, a heading and boilerplate lines) goes
through the portal API (gunicorn, production settings, SQLite): POST /api/v1/documents scans, stores and
answers it; target under 5 s. Side by side in the same run: the same 1,000 texts through the single-text
classify API (batches of 256), and in-process timings of reading + segmenting vs scoring + classifying
(target: reading and segmenting take no more time than classifying).

    .venv/bin/python bench/documents.py --bundle artifacts/bundle [--pages 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from portal import Gunicorn, cold_start, manage, portal_env  # bench/portal.py, beside this script

from ml.data.boilerplate import boilerplate_line, heading
from ml.data.spec_files import write_pdf
from ml.data.specs import TableStyle, _attributes
from ml.documents import read_document
from ml.documents.blocks import HEADING, PARAGRAPH, TABLE, Block
from ml.documents.scan import scan
from ml.documents.scorer import load_scorer
from ml.predictor import Predictor

TARGET_S = 5.0


def big_pdf(pages: int, rows_per_page: int = 10, seed: int = 3) -> bytes:
    import numpy as np

    rng = np.random.default_rng(seed)
    blocks = []
    attrs = _attributes(rng, pages * rows_per_page)
    for page in range(pages):
        style = TableStyle(rng, "train")
        rows = [style.row(a, rng) for a in attrs[page * rows_per_page : (page + 1) * rows_per_page]]
        blocks += [Block(HEADING, heading(rng)), Block(PARAGRAPH, boilerplate_line(rng)), Block(TABLE, rows=(style.header, *rows))]
    return write_pdf(blocks, page_break_every=3)


def in_process(data: bytes, bundle: Path, repeat: int) -> dict:
    predictor = Predictor.from_bundle(bundle, threads=2)
    scorer = load_scorer(bundle)
    read_s, score_s, classify_s = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        read = read_document(data, "bench.pdf")
        read_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = scan(
            read, scorer=scorer, predict_proba=predictor.predict_proba, threshold=predictor.threshold, model_name="m", model_version="v"
        )
        score_s.append(time.perf_counter() - started - result.classify_seconds)
        classify_s.append(result.classify_seconds)
    return {
        "read_s": statistics.median(read_s),
        "score_s": statistics.median(score_s),
        "classify_s": statistics.median(classify_s),
        # each repeat's reading over its own classifying: a slow stretch of a shared machine slows both
        "read_ratio": statistics.median(r / c for r, c in zip(read_s, classify_s, strict=True)),
        "components": result.counts()["components"],
        "texts": [f.segment.text for f in result.components],
    }


def through_api(url: str, token: str, data: bytes, texts: list[str], repeat: int) -> dict:
    headers = {"Authorization": f"Token {token}"}
    upload, single = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        response = requests.post(
            f"{url}/api/v1/documents", files={"file": ("bench.pdf", data, "application/pdf")}, headers=headers, timeout=120
        )
        upload.append(time.perf_counter() - started)
        if response.status_code != 201:
            raise SystemExit(f"upload answered {response.status_code}: {response.text[:300]}")
        components = response.json()["counts"]["components"]
        started = time.perf_counter()
        for i in range(0, len(texts), 256):
            answer = requests.post(f"{url}/api/v1/classify", json={"texts": texts[i : i + 256]}, headers=headers, timeout=60)
            if answer.status_code != 200:
                raise SystemExit(f"classify answered {answer.status_code}: {answer.text[:300]}")
        single.append(time.perf_counter() - started)
    return {"upload_s": statistics.median(upload), "classify_api_s": statistics.median(single), "components": components}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=Path("artifacts/bundle"))
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = big_pdf(args.pages)
    local = in_process(data, args.bundle.resolve(), args.repeat)
    with tempfile.TemporaryDirectory(prefix="documents-bench-") as tmp:
        root = Path(tmp)
        env = portal_env(root, args.bundle.resolve(), None)
        manage(env, "migrate", "--noinput")
        manage(env, "setup_roles", "--demo-users")
        token = re.search(r"([0-9a-f]{40})", manage(env, "drf_create_token", "tech")).group(1)
        server = Gunicorn(env, root / "gunicorn.log")
        try:
            cold_start(server, token)
            api = through_api(server.url, token, data, local["texts"], args.repeat)
        finally:
            server.stop()
    rows = [
        (f"{args.pages}-page PDF, {api['components']} components: POST /api/v1/documents (scan, store, answer)", f"{api['upload_s']:.2f} s",
         f"< {TARGET_S:.0f} s", "met" if api["upload_s"] < TARGET_S else "missed"),
        (f"the same {len(local['texts'])} texts through /api/v1/classify (batches of 256)", f"{api['classify_api_s']:.2f} s", "", ""),
        ("in process: reading + segmenting", f"{local['read_s']:.3f} s", "", ""),
        ("in process: reading + segmenting / classifying (median of each repeat's ratio)", f"{local['read_ratio']:.2f}x", "<= 1",
         "met" if local["read_ratio"] <= 1 else "missed"),
        ("in process: segment score", f"{local['score_s']:.3f} s", "", ""),
        ("in process: classifying (one batched call)", f"{local['classify_s']:.3f} s", "", ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measure':<{width}}  {'median':>9}  {'target':<15} result")
    for name, value, target, result in rows:
        print(f"{name:<{width}}  {value:>9}  {target:<15} {result}")
    print(f"(median of {args.repeat}; PDF {len(data) / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
