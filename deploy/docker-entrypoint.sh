#!/bin/sh
# Runs `loom` or `spip` from the image. The program is PID 1's only child via exec, so
# SIGTERM and SIGHUP reach it directly (graceful shutdown, token reload, log reopening).
set -eu
case "${1:-}" in
  loom) shift; exec node /opt/loom/packages/loom/bin/loom.js "$@" ;;
  spip) shift; exec node /opt/loom/packages/spip/bin/spip.js "$@" ;;
  *)    exec node /opt/loom/packages/loom/bin/loom.js "$@" ;;
esac
