"""Training runs in the shape of ml.training_run's contract (tiny models), and a TCP proxy that can play "server down"."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from common.names import MODEL_NAME, TRAINING_EXPERIMENT
from common.processes import free_port

MAX_LENGTH = 32


@dataclass
class TinyModel:
    name: str
    model: object  # torch.nn.Module
    spec: object  # TokenizerSpec


def train_tiny(*, steps: int, snapshot_at: int, seed: int = 0, rows: int = 1500) -> tuple[TinyModel, TinyModel]:
    """A small TextCNN trained for `steps` mini-batches on generated rows: (early snapshot, final model).

    The early snapshot is the "worse" model and the final one the "better" model of the gate tests.
    """
    import copy

    import torch

    from ml import models
    from ml.data import generate
    from ml.text import build_spec, encode_batch

    torch.set_num_threads(1)
    frame = generate(rows, seed=11)
    spec = build_spec(frame["text"], max_length=MAX_LENGTH)
    torch.manual_seed(seed)
    emb = torch.randn(spec.vocab_size, 12) * 0.3
    emb[0] = 0
    try:
        from ml.text import numeric_features

        model = models.TextCNN(emb, torch.as_tensor(numeric_features(spec)), channels=16)
    except (ImportError, TypeError):  # the model's signature changed: use the factory
        model = models.build_model("cnn", embeddings=emb, spec=spec)
    ids = torch.from_numpy(encode_batch(list(frame["text"]), spec))
    target = torch.tensor(frame["label"].to_numpy(), dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen = torch.Generator().manual_seed(seed)
    early = None
    model.train()
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(frame), (64,), generator=gen)
        opt.zero_grad()
        loss_fn(model.logits(ids[idx]), target[idx]).backward()
        opt.step()
        if step == snapshot_at:
            early = copy.deepcopy(model).eval()
    model.eval()
    return TinyModel(name=f"tiny-{snapshot_at}", model=early, spec=spec), TinyModel(name=f"tiny-{steps}", model=model, spec=spec)


def flipped(tiny: TinyModel) -> TinyModel:
    """The same model with its output inverted: confidently wrong."""
    import copy

    import torch

    model = copy.deepcopy(tiny.model)
    last = model.head[-1]
    with torch.no_grad():
        last.weight.neg_()
        last.bias.neg_()
    return TinyModel(name=f"{tiny.name}-flipped", model=model, spec=tiny.spec)


def write_bundle(tiny: TinyModel, folder: Path, *, run_id: str, metrics: dict, reference_rows: int = 50) -> Path:
    import pandas as pd
    import torch

    from ml.bundle import DEFAULT_LABELS
    from ml.data import generate
    from ml.text import encode_batch

    folder.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros((2, tiny.spec.max_length), dtype=torch.int64)
    torch.onnx.export(
        tiny.model,
        (dummy,),
        str(folder / "model.onnx"),
        dynamo=False,
        external_data=False,
        input_names=["token_ids"],
        output_names=["probability"],
        dynamic_axes={"token_ids": {0: "batch"}, "probability": {0: "batch"}},
    )
    tiny.spec.save(folder / "tokenizer.json")
    (folder / "labels.json").write_text(json.dumps(DEFAULT_LABELS), encoding="utf-8")
    card = {
        "model_name": MODEL_NAME,
        "model_version": None,
        "run_id": run_id,
        "model_type": "cnn",
        "metrics": metrics,
        "data_digest": "test-digest",
        "git_commit": "0" * 40,
        "created_at": "2026-01-01T00:00:00+00:00",
    }
    (folder / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    ref = generate(reference_rows, seed=3)[["text", "label"]]
    with torch.no_grad():
        probs = tiny.model(torch.from_numpy(encode_batch(list(ref["text"]), tiny.spec))).numpy()
    pd.DataFrame({"text": ref["text"], "label": ref["label"], "probability": probs}).to_csv(folder / "reference.csv", index=False)
    return folder


def _accuracy(tiny: TinyModel) -> dict[str, float]:
    import torch

    from ml.data import generate, held_out_sets
    from ml.text import encode_batch

    sets = {"test": generate(300, seed=99), **held_out_sets(300, seed=77)}
    out = {}
    for name, frame in sets.items():
        with torch.no_grad():
            probs = tiny.model(torch.from_numpy(encode_batch(list(frame["text"]), tiny.spec))).numpy()
        out[name] = float(((probs >= 0.5).astype(int) == frame["label"].to_numpy()).mean())
    return out


def log_training_run(
    tracking_uri: str,
    tiny: TinyModel,
    *,
    experiment: str = TRAINING_EXPERIMENT,
    reference_rows: int = 50,
    flavor: object = None,
    weights: Path | None = None,
) -> str:
    """One MLflow run as ml.training_run logs it: pytorch_model + pytorch_weights/ + onnx_model + bundle/ + contract
    metrics and tags. `flavor` and `weights` replace the logged PyTorch flavor and state-dict file (planted models)."""
    import mlflow
    import mlflow.onnx
    import mlflow.pytorch
    import onnx

    from ml.registry import fluent_api_at

    acc = _accuracy(tiny)
    metrics = {
        "test_accuracy": acc["test"],
        "holdout_shapes_accuracy": acc["holdout_shapes"],
        "holdout_years_accuracy": acc["holdout_years"],
        "out_of_range_years_accuracy": acc["out_of_range_years"],
        "onnx_parity_max_abs_diff": 0.0,
    }
    with fluent_api_at(tracking_uri):
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=tiny.name) as run, tempfile.TemporaryDirectory() as tmp:
            run_id = run.info.run_id
            bundle = write_bundle(tiny, Path(tmp) / "bundle", run_id=run_id, metrics=metrics, reference_rows=reference_rows)
            mlflow.log_metrics(metrics)
            mlflow.set_tags({"git_commit": "0" * 40, "data_digest": "test-digest", "model_type": "cnn"})
            flavor = tiny.model if flavor is None else flavor
            mlflow.pytorch.log_model(flavor, name="pytorch_model", serialization_format="pickle", pip_requirements=["torch"])
            from ml.models import PYTORCH_WEIGHTS, STATE_DICT_FILE, save_weights

            if weights is None:
                weights = Path(tmp) / STATE_DICT_FILE
                save_weights(tiny.model, weights)
            mlflow.log_artifact(str(weights), artifact_path=PYTORCH_WEIGHTS)
            mlflow.onnx.log_model(onnx.load(str(bundle / "model.onnx")), name="onnx_model", pip_requirements=["onnxruntime"])
            mlflow.log_artifacts(str(bundle), artifact_path="bundle")
    return run_id


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `down()` refuses and cuts connections, `up()` restores them."""

    def __init__(self, target_port: int, host: str = "127.0.0.1"):
        self.host, self.target_port = host, target_port
        self.port = free_port(host)
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.up()

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def up(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(64)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((self.host, self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 1.0)
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except OSError:
            return
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()
