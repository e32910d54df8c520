# Puts the project's Node first on PATH in the shell that sources it:
#
#   source .ci/node.sh        # Node 24 (the primary runtime)
#   source .ci/node.sh 22     # Node 22 (supported)
#
# Each version is pinned exactly, so a developer's shell, CI and docs/development.md all mean the same
# binary. It comes from the npm registry (the package node-linux-<arch>, which holds the binary
# and its headers), unpacked once into a folder outside the repository and reused after that.
# Only the npm registry is asked: this works where nodejs.org cannot be reached.

instances_api_node() {
  local major="${1:-24}" version arch home dir
  case "$major" in
    24) version=24.21.0 ;;
    22) version=22.23.3 ;;
    *) echo "node.sh: unsupported Node major '$major' (24 or 22)" >&2; return 2 ;;
  esac
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "node.sh: no Node package for $(uname -m)" >&2; return 2 ;;
  esac
  home="${INSTANCES_API_NODE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/instances-api/node}"
  dir="$home/$version"
  if [ ! -x "$dir/bin/node" ]; then
    local scratch
    scratch="$(mktemp -d)" || return 1
    echo "node.sh: fetching node-linux-$arch@$version from the npm registry" >&2
    # npm pack checks the tarball against the registry's integrity hash.
    if ! (cd "$scratch" && npm pack --silent "node-linux-$arch@$version" > /dev/null &&
      tar xzf node-linux-"$arch"-"$version".tgz); then
      rm -rf "$scratch"
      echo "node.sh: could not fetch node-linux-$arch@$version" >&2
      return 1
    fi
    mkdir -p "$home" && rm -rf "$dir" && mv "$scratch/package" "$dir"
    rm -rf "$scratch"
  fi
  # npm stays the machine's own (npm 11): it runs under whichever node is first on PATH.
  # Drop any other version of ours from PATH, then put this one first.
  PATH="$(printf %s "$PATH" | tr : '\n' | grep -v -F "$home/" | paste -sd: -)"
  export PATH="$dir/bin:$PATH"
  hash -r
  [ "$(node --version)" = "v$version" ] || { echo "node.sh: node on PATH is $(node --version), wanted v$version" >&2; return 1; }
}

instances_api_node "$@"
