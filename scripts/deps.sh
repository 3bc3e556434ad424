#!/usr/bin/env bash
# Installs the system packages a make target needs, from Debian's apt, when they are missing.
set -euo pipefail
need=()
case "${1:-test}" in
  test)  for p in curl:curl openssl:openssl redis-server:redis-server tmux:tmux; do cmd=${p%%:*}; pkg=${p##*:}; command -v "$cmd" >/dev/null || need+=("$pkg"); done ;;
  peers) for p in nginx:nginx-light haproxy:haproxy wrk:wrk; do cmd=${p%%:*}; pkg=${p##*:}; command -v "$cmd" >/dev/null || need+=("$pkg"); done ;;
esac
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
