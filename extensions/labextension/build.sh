#!/usr/bin/env bash
# Builds the JupyterLab extension from source with the standard toolchain (npm registry,
# TypeScript, @jupyterlab/builder via `jupyter labextension build`), runs its unit tests
# (jest, offline), and installs the prebuilt Python package `sandbox_labextension` into
# the project's venv.
#
#   extensions/labextension/build.sh               build, test, install
#   extensions/labextension/build.sh --if-changed  do nothing when the installed build is
#                                                  of these exact sources (browser tests)
#
# node_modules/ stays here between runs (git-ignored); npm's cache is .cache/npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SANDBOX_VENV:-$repo/.venv}"
export PATH="$venv/bin:$repo/node_modules/.bin:$PATH"
cd "$here"

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is required (Debian: apt-get install nodejs npm)" >&2; exit 1; }
done

# One build at a time per checkout (several test runs may share it).
mkdir -p "$repo/.cache"
exec 9>"$repo/.cache/labextension-build.lock"
flock 9

sources_hash() {
  # The catalogues' .po count; the JSON made from them does not.
  find src style package.json package-lock.json tsconfig.json jest.config.js pyproject.toml \
       install.json sandbox_labextension/__init__.py sandbox_labextension/locale -type f \
       -not -path '*/__tests__/*' -not -path '*/locale/*.json' -print0 \
    | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
installed="$venv/share/jupyter/labextensions/sandbox-labextension/package.json"
if [ "${1:-}" = "--if-changed" ] && [ -f .build-stamp ] && [ -f "$installed" ] \
   && [ "$(cat .build-stamp)" = "$(sources_hash)" ]; then
  echo "build.sh: sandbox-labextension is up to date"
  exit 0
fi

# Install dependencies only when the lock file changed since the last install.
if [ ! -f node_modules/.sandbox-installed ] || [ package-lock.json -nt node_modules/.sandbox-installed ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error --cache "$repo/.cache/npm"
  touch node_modules/.sandbox-installed
fi

echo "== tsc"
npx tsc -p tsconfig.json
echo "== jest"
npx jest --ci
echo "== jupyter labextension build"
rm -rf sandbox_labextension/labextension
jupyter labextension build . 2>&1 | grep -Ev '^\s*$|deprecated|legacy package|core-meta' || true
test -f sandbox_labextension/labextension/package.json || { echo "build.sh: the labextension build produced nothing" >&2; exit 1; }

echo "== catalogues (locale/*/LC_MESSAGES/*.po -> the JSON JupyterLab loads)"
(cd "$repo" && "$venv/bin/python" -m spawners.i18n.lab)

echo "== pip install sandbox_labextension"
isolation=()
"$venv/bin/python" -c "import hatchling" 2>/dev/null && isolation=(--no-build-isolation)
"$venv/bin/python" -m pip install -q --no-deps --force-reinstall "${isolation[@]}" "$here"
"$venv/bin/jupyter" labextension list 2>&1 | grep -q "sandbox-labextension.*enabled.*OK" \
  || { echo "build.sh: JupyterLab does not list sandbox-labextension as enabled" >&2; exit 1; }
sources_hash > .build-stamp
echo "build.sh: sandbox-labextension built, tested and installed"
