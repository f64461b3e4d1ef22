#!/usr/bin/env bash
# Pins every FROM line of the Dockerfile to the digest its tag points to now (image:tag@sha256:...), or
# refreshes the digest of a line already pinned. Needs `docker buildx` and access to the registries.
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-Dockerfile}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line; do
  if [[ $line =~ ^FROM[[:space:]]+([^[:space:]@]+)(@sha256:[0-9a-f]+)?(.*)$ ]]; then
    image=${BASH_REMATCH[1]} rest=${BASH_REMATCH[3]}
    digest=$(docker buildx imagetools inspect "$image" | awk '/^Digest:/ { print $2; exit }')
    [[ $digest == sha256:* ]] || { echo "pin-images: no digest for $image" >&2; exit 1; }
    echo "FROM $image@$digest$rest" >>"$tmp"
    echo "pin-images: $image -> $digest" >&2
  else
    printf '%s\n' "$line" >>"$tmp"
  fi
done <"$file"
cp "$tmp" "$file"
