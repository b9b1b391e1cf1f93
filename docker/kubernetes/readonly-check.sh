#!/usr/bin/env bash
# Runs the three processes as the manifests do, without a cluster: as UID 10001, on a read-only root
# filesystem with a tmpfs on /tmp (also $HOME), then takes one knowledge turn through Rasa -> action server ->
# backend. It backs the manifests' readOnlyRootFilesystem and runAsUser with a real run of this checkout's
# venvs and model (not the images). Needs root (a private mount namespace) and `make model` first; Linux only.
# Not part of `make test`: it loads Rasa (a minute of CPU) and changes mounts.
#   sudo bash docker/kubernetes/readonly-check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
MODEL=$(readlink -f var/models/current.tar.gz)
[ -f "$MODEL" ] || { echo "readonly-check: no trained model; run make model" >&2; exit 1; }

# The venvs and their interpreters, often under root's home (mode 700): the mount namespace below shows a
# UID 10001 only those directories there, so nothing else of root's becomes readable.
needed=("$(readlink -f .venv-app)" "$(readlink -f .venv-bot)" "$(dirname "$MODEL")")
for venv in .venv-app .venv-bot; do
  needed+=("$(dirname "$(sed -n 's/^home = //p' "$venv/pyvenv.cfg")")")
done

inner() {
  set -euo pipefail
  mount --make-rprivate /
  if [ "$(stat -c %a "$HOME")" = 700 ]; then
    local keep=/mnt/readonly-check
    mkdir -p "$keep"
    local i=0 dir
    for dir in "${needed[@]}"; do
      case "$dir" in "$HOME"/*) mkdir -p "$keep/$i" && mount --bind "$dir" "$keep/$i"; i=$((i + 1)) ;; esac
    done
    mount -t tmpfs -o mode=755 tmpfs "$HOME"
    i=0
    for dir in "${needed[@]}"; do
      case "$dir" in "$HOME"/*) mkdir -p "$dir" && mount --bind "$keep/$i" "$dir"; i=$((i + 1)) ;; esac
    done
  fi
  mount -o remount,bind,ro /
  mount -t tmpfs -o size=1g,mode=1777 tmpfs /tmp
  if touch "$REPO/.readonly-check" 2>/dev/null; then echo "readonly-check: the root is writable" >&2; exit 1; fi

  local as=(setpriv --reuid 10001 --regid 10001 --clear-groups env HOME=/tmp MPLCONFIGDIR=/tmp/matplotlib
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 HF_HUB_OFFLINE=1)
  local token secret identity rasa_token
  token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
  rasa_token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
  secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
  identity=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
  local backend=("${as[@]}" PYTHONPATH="$REPO" ENVIRONMENT=production SERVICE_TOKEN="$token" SECRET_KEY="$secret"
    IDENTITY_SECRET="$identity" DATABASE_URL=sqlite:////tmp/check.db KB_INDEX_DIR=/tmp/kb_index
    RISK_MODEL_DIR=/tmp/risk RASA_URL=http://127.0.0.1:15005 RASA_TOKEN="$rasa_token")
  "${backend[@]}" .venv-app/bin/python -m alembic upgrade head >/tmp/migrate.log 2>&1
  "${backend[@]}" .venv-app/bin/python -m backend.seed >>/tmp/migrate.log 2>&1
  "${backend[@]}" .venv-app/bin/python -m scripts.wait_for_migrations --timeout-s 5
  # Global, not local: the EXIT trap runs after this function has returned.
  pids=()
  trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT
  "${backend[@]}" .venv-app/bin/python -m uvicorn backend.main:create_app --factory --host 127.0.0.1 \
    --port 18000 --workers=1 >/tmp/backend.log 2>&1 &
  pids=($!)
  "${as[@]}" PYTHONPATH="$REPO:$REPO/bot" BACKEND_URL=http://127.0.0.1:18000 SERVICE_TOKEN="$token" \
    .venv-bot/bin/python -m rasa_sdk --actions actions --port 15055 >/tmp/actions.log 2>&1 &
  pids+=($!)
  # As the image starts Rasa: bot/rasa_run.py hands it RASA_TOKEN from its environment (the API's token; the
  # hub channel reads the same variable), not on its command line.
  (cd bot && exec "${as[@]}" PYTHONPATH="$REPO:$REPO/bot" ACTION_SERVER_URL=http://127.0.0.1:15055/webhook \
    RASA_TRACKER_DB=/tmp/tracker.db RASA_TOKEN="$rasa_token" "$REPO/.venv-bot/bin/python" -m rasa_run --enable-api --model "$MODEL" \
    --credentials credentials.yml --endpoints endpoints.yml --port 15005 >/tmp/rasa.log 2>&1) &
  pids+=($!)
  RASA_TOKEN="$rasa_token" python3 - <<'PY'
import json, os, time, urllib.parse, urllib.request

def get(url):
    return urllib.request.urlopen(url, timeout=5).read()

for _ in range(150):
    try:
        get("http://127.0.0.1:15005/status?" + urllib.parse.urlencode({"token": os.environ["RASA_TOKEN"]}))
        get("http://127.0.0.1:15055/health")
        health = json.loads(get("http://127.0.0.1:18000/health"))
        if health["status"] == "ok":
            break
    except OSError:
        pass
    time.sleep(2)
else:
    for log in ("backend", "actions", "rasa"):
        print(f"--- {log}.log", *open(f"/tmp/{log}.log").readlines()[-15:], sep="")
    raise SystemExit("readonly-check: the processes did not all come up")
# The backend's channel, with the token it sends (the product's credentials.yml has no other).
request = urllib.request.Request(
    "http://127.0.0.1:15005/webhooks/hub/webhook",
    data=json.dumps({"sender": "readonly-check", "message": "how much does the premium plan cost?"}).encode(),
    headers={"Content-Type": "application/json", "Authorization": "Bearer " + os.environ["RASA_TOKEN"]},
)
replies = json.loads(urllib.request.urlopen(request, timeout=30).read())["messages"]
text = " ".join(reply.get("text", "") for reply in replies)
# A knowledge answer quotes its article: Rasa ran the action, which searched the backend.
assert "From our help article" in text, text
print("readonly-check: passed: UID 10001, read-only root, /tmp tmpfs; a knowledge turn answered:", text[:80])
PY
  # Memory after start-up and one turn, beside the manifests' requests and limits: resident now and the
  # peak (VmHWM, model loading included), each process with its children (the backend's PII process).
  local pid
  for pid in "${pids[@]}"; do
    local family=("$pid" $(ps -o pid= --ppid "$pid"))
    local rss peak
    rss=$(for p in "${family[@]}"; do awk '/^VmRSS/ {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {print int(s / 1024)}')
    peak=$(for p in "${family[@]}"; do awk '/^VmHWM/ {print $2}' "/proc/$p/status"; done | awk '{s += $1} END {print int(s / 1024)}')
    echo "readonly-check: ${rss} MiB resident, ${peak} MiB peak: $(ps -o args= -p "$pid" | cut -c1-60)"
  done
}

export -f inner
export REPO MODEL
export NEEDED="${needed[*]}"
unshare -m bash -c 'needed=($NEEDED); inner'
