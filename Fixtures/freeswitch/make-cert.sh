#!/usr/bin/env bash
# Makes the test-only TLS certificate of the wss listener (127.0.0.1:5067): a self-signed RSA
# certificate for 127.0.0.1, written with its key into tls/wss.pem (what verto.conf.xml's
# secure-combined names). The suite accepts it only because VERTO_FS_WSS_URL tests run with the
# engine's test-only "accept any certificate" trust. Never use it anywhere else.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/tls"
mkdir -p "$dir"
if [ -s "$dir/wss.pem" ] && [ "${1:-}" != "--force" ]; then
  echo "$dir/wss.pem exists (use --force to replace it)"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
cat "$tmp/cert.pem" "$tmp/key.pem" > "$dir/wss.pem"
chmod 644 "$dir/wss.pem"
echo "wrote $dir/wss.pem"
