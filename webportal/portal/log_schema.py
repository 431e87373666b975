"""The prediction log's table and columns, in the order the portal's raw INSERTs write them.

Plain Python without Django: the portal's write paths (webportal.portal.bulk, prediction_log, the CSV import)
and monitoring's reader (monitoring.db) import it, and the contract tests hold it to the migrated table
(tests/webportal/test_prediction_log.py on the model, tests/webportal/test_postgres.py on PostgreSQL).
"""

PREDICTION_TABLE = "portal_prediction"
PREDICTION_COLUMNS = [
    "component_id",
    "text",
    "probability",
    "label",
    "model_name",
    "model_version",
    "latency_ms",
    "user_id",
    "source",
    "created_at",
    "document_id",  # the specification document a component came from (source "document"), else NULL
]  # plus the table's own "id"
