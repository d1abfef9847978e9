#!/usr/bin/env bash
# The Hugging Face Space is exactly the tracked files listed in scripts/space_files.txt.
#   scripts/space.sh stage DIR            copy them into DIR (what the Space-bundle test runs)
#   scripts/space.sh deploy USER/SPACE    stage them and upload with the hf CLI (hf auth login, or HF_TOKEN, first)
set -euo pipefail
cd "$(dirname "$0")/.."

stage() {
  mkdir -p "$1"
  grep -v '^#' scripts/space_files.txt | xargs git ls-files -z -- | xargs -0 cp --parents -t "$1"
}

case "${1:-}" in
  stage)
    stage "${2:?usage: scripts/space.sh stage DIR}" ;;
  deploy)
    repo=${2:?usage: scripts/space.sh deploy USER/SPACE}
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    stage "$dir"
    hf repos create "$repo" --repo-type space --space-sdk gradio --exist-ok
    hf upload "$repo" "$dir" . --repo-type space --commit-message "Deploy poster-genre $(git rev-parse --short HEAD)" ;;
  *)
    echo "usage: scripts/space.sh stage DIR | deploy USER/SPACE" >&2
    exit 2 ;;
esac
