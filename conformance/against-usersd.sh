#!/usr/bin/env bash
# Runs the conformance suite against cmd/usersd started as a separate process, the way
# an operator runs it: build, start on a free loopback port, read the URL from the first
# line of its stdout, run the suite with USERS_BASE_URL, stop the server.
#
#   conformance/against-usersd.sh [usersd flags…]
#   conformance/against-usersd.sh -store file -pbkdf2-iterations 600000
#
# The known bugs of this server are skipped (CONFORMANCE_KNOWN_BUGS=skip); set
# CONFORMANCE_KNOWN_BUGS=run to run them. Extra go test flags go in GOTESTFLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

max_upload=$((4 << 20))
upload_quota=$((16 << 20))
go build -o "$tmp/usersd" ./cmd/usersd
"$tmp/usersd" -addr 127.0.0.1:0 -data "$tmp/data" -max-upload "$max_upload" -upload-quota "$upload_quota" "$@" >"$tmp/stdout" 2>"$tmp/log" &
pid=$!

url=""
for _ in $(seq 300); do
  url=$(head -n 1 "$tmp/stdout" 2>/dev/null || true)
  [ -n "$url" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "usersd exited before serving:"; cat "$tmp/log"; exit 1
  fi
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "usersd printed no URL within 30 s:"; cat "$tmp/log"; exit 1
fi
echo "usersd $* serving on $url"

status=0
USERS_BASE_URL="$url" USERS_UPLOAD_LIMIT="$max_upload" USERS_UPLOAD_QUOTA="$upload_quota" \
  CONFORMANCE_KNOWN_BUGS="${CONFORMANCE_KNOWN_BUGS:-skip}" \
  go test -count=1 -short ${GOTESTFLAGS:-} ./conformance/... || status=$?
if [ "$status" -ne 0 ]; then
  echo "== usersd log"; tail -n 50 "$tmp/log"
fi
exit "$status"
