#!/usr/bin/env bash
# Container health check: GET /api/health (no token needed) on the local
# HTTP API and succeed only on "200". Uses bash's /dev/tcp, so the runtime
# image needs no curl. Port: $1, else CHATKPI_HEALTH_PORT, else 8080.
set -euo pipefail
port="${1:-${CHATKPI_HEALTH_PORT:-8080}}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET /api/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
IFS= read -r -t 3 status <&3
exec 3<&- 3>&-
case "$status" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) echo "chatkpi health: ${status:-no answer}" >&2; exit 1 ;;
esac
