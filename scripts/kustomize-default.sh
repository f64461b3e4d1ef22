#!/usr/bin/env bash
# Prints config/default rendered for one image (repo:tag or repo@sha256:...), without touching the
# tracked kustomization: it edits a throw-away copy of config/.
set -euo pipefail
kubectl=${1:?usage: kustomize-default.sh KUBECTL IMAGE}
image=${2:?usage: kustomize-default.sh KUBECTL IMAGE}
cd "$(dirname "$0")/.."
if [[ $image == *@* ]]; then
  name=${image%@*} field="digest: ${image#*@}"
elif [[ ${image##*/} == *:* ]]; then
  name=${image%:*} field="newTag: ${image##*:}"
else
  name=$image field="newTag: latest"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r config "$work/"
sed -i -e "s|^    newTag: .*|    newName: $name\n    $field|" "$work/config/default/kustomization.yaml"
"$kubectl" kustomize "$work/config/default"
