#!/usr/bin/env bash
# Installs what testing Essaim needs on top of scripts/setup.sh,
# idempotently: a Python venv for the oracles, the JavaScript
# automerge-repo of the interoperability tests, and the web app's test
# packages (playwright-core, axe-core); as root, Debian's PostgreSQL, NATS
# and HAProxy when missing. Chromium is installed by test.sh (as root) or
# .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

# The cluster tests (tests/it/services.rs) run real PostgreSQL, NATS and
# HAProxy servers of their own on 127.0.0.1 (Debian's packages; their
# services are neither enabled nor needed). Installed when missing if we may
# (root).
missing=()
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: the cluster tests need PostgreSQL, NATS and HAProxy: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

# The rhythm engine's oracle test (tests/it/rythme_oracle.rs) runs
# python-dateutil and zoneinfo with a pinned tzdata, in a venv under target/
# so that the system Python is left alone. Needs python3 with venv and PyPI.
# The feeds' oracle (tests/it/flux_oracle.rs) adds icalendar and
# recurring-ical-events in the same venv.
venv=target/rythme-oracle-venv
if ! "$venv/bin/python3" -c 'import dateutil, tzdata; from importlib.metadata import version as v; assert (dateutil.__version__, tzdata.__version__, v("icalendar"), v("recurring-ical-events")) == ("2.9.0.post0", "2026.6", "7.3.2", "3.8.2")' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check 'python-dateutil==2.9.0.post0' 'tzdata==2026.6' \
        'icalendar==7.3.2' 'recurring-ical-events==3.8.2'
fi

# The interoperability tests (tests/it/interop.rs) run the real JavaScript
# automerge-repo, pinned in tests/interop/package-lock.json. `npm install`
# rather than `npm ci`: the lock names optional native packages
# (@cbor-extract/*) that a registry mirror may lack, and cbor-x works without
# them. Reinstalled only when the lock file changed (stamp in node_modules).
# The same package pins schema-dts and TypeScript, which check that the
# JSON-LD feeds use only schema.org's vocabulary (tests/it/flux_oracle.rs).
stamp=tests/interop/node_modules/.essaim-lock.sha256
if ! sha256sum --status -c "$stamp" 2>/dev/null; then
    (cd tests/interop && npm install --no-audit --no-fund --loglevel=error)
    sha256sum tests/interop/package-lock.json tests/interop/package.json >"$stamp"
fi

# The web app with its test packages too (stamp `all`, see setup.sh).
lock=$(cat web/package-lock.json web/package.json | sha256sum | cut -d' ' -f1)
if [ "$(cat web/node_modules/.essaim-lock 2>/dev/null || true)" != "all $lock" ]; then
    (cd web && npm install --no-audit --no-fund --loglevel=error)
    echo "all $lock" >web/node_modules/.essaim-lock
fi
