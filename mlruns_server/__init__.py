"""Start and configure the MLflow tracking server and UI (`python -m mlruns_server`).

Importing this package is free: no mlflow import. The server itself runs as a child process
(`python -m mlflow server ...`) under a small supervisor that checks the port and the backend
first, writes a pid file and stops the server cleanly on SIGTERM.
"""

from mlruns_server.config import ServerConfig, default_var_dir
from mlruns_server.process import ServerHandle, start_server

__all__ = ["ServerConfig", "ServerHandle", "default_var_dir", "start_server"]
