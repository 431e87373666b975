"""The pipeline run in MLflow (experiment `pipeline`): its id, commit, each stage's outcome and time, the result."""

from __future__ import annotations

from common.names import PIPELINE_EXPERIMENT

# Stage outputs worth a tag on the pipeline run (searchable in the MLflow UI).
TAGGED_OUTPUTS = ("run_id", "version", "verdict", "model_version", "app_version", "approved_by")


class PipelineRecorder:
    def __init__(self, tracking_uri: str, *, pipeline_id: str, require_approval: bool):
        import mlflow

        from ml.mlflow_setup import ensure_experiment, git_commit

        self.client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        experiment_id = ensure_experiment(PIPELINE_EXPERIMENT, tracking_uri)
        tags = {"pipeline_id": pipeline_id, "git_commit": git_commit(), "mlflow.runName": f"pipeline {pipeline_id}"}
        self.run_id = self.client.create_run(experiment_id, tags=tags).info.run_id
        self.client.log_param(self.run_id, "require_approval", require_approval)

    def stage(self, name: str, status: str, seconds: float, outputs: dict) -> None:
        self.client.set_tag(self.run_id, f"stage.{name}", status)
        self.client.log_metric(self.run_id, f"stage_seconds.{name}", seconds)
        for key in TAGGED_OUTPUTS:
            if key in outputs and outputs[key] is not None:
                self.client.set_tag(self.run_id, f"{name}.{key}", str(outputs[key]))

    def finish(self, *, status: str, ok: bool, error: str, record: dict) -> None:
        self.client.log_dict(self.run_id, record, "pipeline.json")
        self.client.set_tag(self.run_id, "status", status)
        if error:
            self.client.set_tag(self.run_id, "error", error[:4000])
        self.client.set_terminated(self.run_id, "FINISHED" if ok else "FAILED")
