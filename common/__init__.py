"""Names, paths and process helpers that every part of the platform shares.

Standard library only, and nothing from the rest of the project: ml, mlruns_server, webportal,
monitoring, ci, tests and bench all import from here, and every image copies it.
"""
