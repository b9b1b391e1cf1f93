#!/usr/bin/env bash
# Validates the Kubernetes manifests (docker/kubernetes/): renders every overlay with kustomize (the one built
# into kubectl, from the tools venv), validates every rendered object and the Secret template against the
# Kubernetes API schemas of the versions below (kubernetes-validate, strict: unknown fields fail), then runs
# checkov's kubernetes checks on the rendered overlays (skips, with their reasons: docker/kubernetes/checkov.yaml).
# Called by `make validate-k8s` and by scripts/test.sh; the rendered files are left in var/kubernetes/.
set -euo pipefail
cd "$(dirname "$0")/.."

# The oldest Kubernetes these manifests are meant for and the newest the pinned kubernetes-validate knows.
K8S_VERSIONS=(1.33.0 1.37.0)
OUT=var/kubernetes

bash scripts/bootstrap.sh tools
TOOLS=.venv-tools/bin

rm -rf "$OUT" && mkdir -p "$OUT"
for overlay in docker/kubernetes/overlays/*/; do
  name=$(basename "$overlay")
  "$TOOLS/kubectl" kustomize "$overlay" >"$OUT/$name.yaml"
  echo "validate_k8s: rendered $name: $(grep -c '^kind: ' "$OUT/$name.yaml") objects"
done

for version in "${K8S_VERSIONS[@]}"; do
  "$TOOLS/kubernetes-validate" --strict --quiet --kubernetes-version "$version" \
    "$OUT"/*.yaml docker/kubernetes/base/secret.template.yaml
  echo "validate_k8s: kubernetes-validate --strict against Kubernetes $version: passed"
done

"$TOOLS/checkov" --config-file docker/kubernetes/checkov.yaml --directory "$OUT"
echo "validate_k8s: checkov passed"
