# Shared by the scripts in scripts/: where things live and how to make a venv.
# Source it; it defines variables and functions and changes nothing by itself.

ASTRAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Peer environments (lstchain, gammapy) and trained models live outside the clone, so
# that a fresh clone reuses them; every script installs what is missing.
export ASTRAN_PEERS="${ASTRAN_PEERS:-$HOME/.cache/astran/peers}"
export ASTRAN_LSTCHAIN_ENV="${ASTRAN_LSTCHAIN_ENV:-$ASTRAN_PEERS/lstchain-0.12.3}"
export ASTRAN_LSTCHAIN_010_ENV="${ASTRAN_LSTCHAIN_010_ENV:-$ASTRAN_PEERS/lstchain-0.10.18}"
export ASTRAN_GAMMAPY_PYTHON="${ASTRAN_GAMMAPY_PYTHON:-$ASTRAN_PEERS/gammapy-2.1/bin/python}"
ASTRAN_VENV="${ASTRAN_VENV:-$ASTRAN_ROOT/.venv}"
PYTHON_FOR_VENVS="${PYTHON_FOR_VENVS:-python3}"

say() { printf '%s %s\n' "[$(date +%H:%M:%S)]" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# make_venv DIR MARKER PIP-ARGS...: a venv at DIR with PIP-ARGS installed, done once.
# MARKER is a string that changes when the wanted packages change; the venv is
# rebuilt when it differs from what was installed last time.
make_venv() {
    local dir="$1" marker="$2"; shift 2
    if [ -f "$dir/.astran-installed" ] && [ "$(cat "$dir/.astran-installed")" = "$marker" ]; then
        return 0
    fi
    say "installing $dir ($*)"
    rm -rf "$dir"
    "$PYTHON_FOR_VENVS" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
    printf '%s' "$marker" > "$dir/.astran-installed"
}

# debian_install PACKAGE...: Debian's packages, installed when missing (the scripts run as root in CI).
debian_install() {
    say "installing Debian's $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

# The project's own venv with astran installed in editable mode and the test extras.
ensure_project_venv() {
    local marker
    marker="$(sha256sum "$ASTRAN_ROOT/pyproject.toml" | cut -c1-16)"
    if [ -f "$ASTRAN_VENV/.astran-installed" ] && [ "$(cat "$ASTRAN_VENV/.astran-installed")" = "$marker" ] \
        && "$ASTRAN_VENV/bin/python" -c "import lappana, spoold" 2>/dev/null; then
        return 0
    fi
    say "installing the project into $ASTRAN_VENV"
    [ -x "$ASTRAN_VENV/bin/python" ] || "$PYTHON_FOR_VENVS" -m venv "$ASTRAN_VENV"
    "$ASTRAN_VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
    "$ASTRAN_VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ASTRAN_ROOT[test]"
    printf '%s' "$marker" > "$ASTRAN_VENV/.astran-installed"
}
