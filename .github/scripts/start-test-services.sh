#!/usr/bin/env bash
# CI set-up inside a Debian (python:3.11-bookworm) container, as root: the services the test suite expects on
# this project's machines -- PostgreSQL on 127.0.0.1:5432 (trust auth, like the developers' machines) and Redis
# on 127.0.0.1:6379 -- plus make and git. `make test` installs the rest (make system-deps, make install).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends make git postgresql redis-server >/dev/null
version="$(ls /etc/postgresql)"
hba="/etc/postgresql/${version}/main/pg_hba.conf"
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' > "$hba"
pg_ctlcluster "$version" main start
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
git config --global --add safe.directory "$(pwd)"
