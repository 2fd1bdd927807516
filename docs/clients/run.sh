#!/usr/bin/env bash
# Generates a Go client (oapi-codegen) and TypeScript types (openapi-typescript) from
# docs/openapi.json, unedited, builds and type-checks them, lints the document with
# Redocly's recommended rules, and runs the same journey with each client against a
# cmd/usersd started here on a free loopback port and stopped at the end.
#
#   docs/clients/run.sh
#
# Needs go, node and npm; downloads the Go modules and npm packages of the lock files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

for tool in go node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "docs/clients/run.sh: $tool is not installed; it is needed to check the generated clients" >&2
    exit 1
  fi
done

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

echo "== generate the Go client (oapi-codegen)"
cd "$here/go"
rm -rf gen
mkdir -p gen/usersapi
go tool oapi-codegen -config oapi-codegen.yaml "$root/docs/openapi.json"
go vet ./...

echo "== generate the TypeScript types (openapi-typescript), lint, type-check"
cd "$here/ts"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent lint
npm run --silent generate
npm run --silent build

echo "== start usersd"
cd "$root"
go build -o "$tmp/usersd" ./cmd/usersd
"$tmp/usersd" -addr 127.0.0.1:0 -store memory -data "$tmp/data" -pbkdf2-iterations 1000 >"$tmp/stdout" 2>"$tmp/log" &
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
echo "usersd serving on $url"

status=0
echo "== journey with the Go client"
(cd "$here/go" && USERS_BASE_URL="$url" go test -count=1 ./...) || status=1
echo "== journey with the TypeScript client (openapi-fetch)"
(cd "$here/ts" && USERS_BASE_URL="$url" npm run --silent journey) || status=1
if [ "$status" -ne 0 ]; then
  echo "== usersd log"; tail -n 50 "$tmp/log"
fi
exit "$status"
