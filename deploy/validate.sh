#!/usr/bin/env bash
# CI check of the deployment files in deploy/: the compose file, the
# Kubernetes manifests, the systemd unit, the Dockerfile and the scripts.
#
# Uses the real tools where they are installed and falls back to offline
# structural checks (deploy/validate_manifests.py, PyYAML) where not. A tool
# that is missing is reported as SKIP and does not fail the run; any invalid
# file does (exit 1). Runs from any folder; needs no network, no Docker
# engine and no Kubernetes cluster.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
compose_file="$here/docker-compose.yml"
k8s_dir="$here/k8s"
failed=0
skipped=()
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=1; }
skip() { echo "SKIP $*"; skipped+=("$1"); }
# run NAME CMD...: run a check, show its output indented, record the result.
run() {
  local name="$1"; shift
  if "$@" >"$tmp/out" 2>&1; then
    sed 's/^/    /' "$tmp/out"
    pass "$name"
  else
    sed 's/^/    /' "$tmp/out"
    fail "$name"
  fi
}

python=""
for p in python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' 2>/dev/null; then
    python="$p"; break
  fi
done

echo "== docker compose"
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  run "docker compose config ($(docker compose version --short 2>/dev/null))" \
    docker compose -f "$compose_file" config -q
elif command -v docker-compose >/dev/null 2>&1; then
  # v1 (Debian's docker-compose) knows the same schema for what the file uses.
  run "docker-compose config (v1: $(docker-compose version --short 2>/dev/null))" \
    docker-compose -f "$compose_file" config -q
else
  skip "compose-schema: neither 'docker compose' (plugin) nor 'docker-compose' is installed"
fi
if [[ -n "$python" ]]; then
  run "compose structure (validate_manifests.py)" \
    "$python" "$here/validate_manifests.py" compose "$compose_file"
  # The topic-creation script is YAML text: check it as bash too.
  if "$python" - "$compose_file" >"$tmp/topics.sh" 2>"$tmp/err" <<'EOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
cmd = d["services"]["topics"]["command"]
print((cmd[0] if isinstance(cmd, list) else cmd).replace("$$", "$"))
EOF
  then
    run "topics script parses (bash -n)" bash -n "$tmp/topics.sh"
  else
    cat "$tmp/err"; fail "topics script could not be read from the compose file"
  fi
else
  skip "compose-structure: no python3 with PyYAML (Debian: python3-yaml)"
fi

echo "== Kubernetes manifests"
if [[ -n "$python" ]]; then
  run "k8s structure and references (validate_manifests.py)" \
    "$python" "$here/validate_manifests.py" k8s "$k8s_dir"
  run "rules.json matches the rules ConfigMap" \
    "$python" "$here/validate_manifests.py" rules "$here/rules.json" "$k8s_dir"
else
  skip "k8s-structure: no python3 with PyYAML (Debian: python3-yaml)"
fi
if command -v kubectl >/dev/null 2>&1; then
  # Offline: kustomize builds the resource list (parses every file, checks
  # apiVersion/kind/name and the kustomization itself).
  if kubectl kustomize "$k8s_dir" >"$tmp/kustomized.yaml" 2>"$tmp/out"; then
    pass "kubectl kustomize ($(grep -c '^kind:' "$tmp/kustomized.yaml") objects)"
  else
    sed 's/^/    /' "$tmp/out"; fail "kubectl kustomize"
  fi
  # Schema validation needs an API server (kubectl downloads its OpenAPI
  # document even for --dry-run=client). Only with a configured cluster.
  if [[ -n "${KUBECONFIG:-}" || -f "$HOME/.kube/config" ]] &&
     kubectl version --request-timeout=5s >/dev/null 2>&1; then
    run "kubectl apply --dry-run=client --validate=strict" \
      kubectl apply --dry-run=client --validate=strict -k "$k8s_dir"
    run "kubectl apply --dry-run=client (secret.yaml)" \
      kubectl apply --dry-run=client --validate=strict -f "$k8s_dir/secret.yaml"
  else
    skip "k8s-schema: no reachable cluster for kubectl's OpenAPI validation (kubeconform/kubeval are not in Debian)"
  fi
else
  skip "kubectl: not installed (Debian 12: kubernetes-client, 1.20 only)"
fi

echo "== systemd unit"
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify insists that ExecStart's binary exists: use the built one, or a
  # stand-in, on a copy of the unit.
  unit="$tmp/unit/chatkpi.service"
  mkdir -p "$tmp/unit"
  bin=/usr/bin/chatkpi
  [[ -x "$bin" ]] || bin="$repo/build/chatkpi"
  [[ -x "$bin" ]] || bin=/bin/true
  sed "s#^ExecStart=/usr/bin/chatkpi #ExecStart=$bin #" "$here/chatkpi.service" >"$unit"
  # verify exits 0 on unknown keys and bad values ("..., ignoring"): any
  # message counts as a failure.
  if systemd-analyze verify "$unit" >"$tmp/out" 2>&1 && [[ ! -s "$tmp/out" ]]; then
    pass "systemd-analyze verify"
  else
    sed "s#$tmp/unit/#deploy/#; s/^/    /" "$tmp/out"; fail "systemd-analyze verify"
  fi
  # Exposure score 0 (locked down) .. 10 (unprotected); fail above 2.5.
  if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
    if systemd-analyze security --offline=true --threshold=25 "$unit" >"$tmp/out" 2>&1; then
      tail -n 1 "$tmp/out" | sed 's/^/    /'
      pass "systemd-analyze security --offline (exposure <= 2.5)"
    else
      grep -v '^✓' "$tmp/out" | sed 's/^/    /'
      fail "systemd-analyze security --offline (exposure <= 2.5)"
    fi
  else
    skip "systemd-security: systemd-analyze has no --offline (needs systemd >= 252)"
  fi
else
  skip "systemd: systemd-analyze not installed"
fi

echo "== Dockerfile"
dockerfile="$here/Dockerfile"
# COPY sources exist (relative to the repository, the build context).
missing=0
while read -r src; do
  [[ -e "$repo/$src" ]] || { echo "    COPY source '$src' does not exist"; missing=1; }
done < <(awk '/^COPY / && !/--from=/ { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' "$dockerfile")
if ((missing)); then fail "Dockerfile COPY sources"; else pass "Dockerfile COPY sources"; fi
# The runtime packages are real Debian package names (needs apt lists).
# The words of the runtime stage's `apt-get install` command up to `&&`.
pkgs="$(sed -n '/^FROM .* AS runtime/,$p' "$dockerfile" |
  awk '/apt-get install/ {on=1} on {print} on && !/[\\]$/ {on=0}' |
  sed -e 's/.*apt-get install//' -e 's/&&.*//' | tr -s ' \t' '\n' |
  grep -E '^[a-z0-9][a-z0-9.+-]+$' || true)"
have_lists=0
for f in /var/lib/apt/lists/*_Packages*; do [[ -e "$f" ]] && have_lists=1 && break; done
if [[ -z "$pkgs" ]]; then
  fail "Dockerfile runtime packages: none found"
elif command -v apt-cache >/dev/null 2>&1 && ((have_lists)); then
  bad=""
  for p in $pkgs; do
    cand="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [[ -z "$cand" || "$cand" == "(none)" ]]; then bad+=" $p"; fi
  done
  if [[ -n "$bad" ]]; then
    fail "Dockerfile runtime packages unknown to apt:$bad"
  else
    pass "Dockerfile runtime packages exist in apt: ${pkgs//$'\n'/ }"
  fi
else
  skip "docker-packages: no apt lists to look up the runtime packages (run apt-get update)"
fi
if command -v hadolint >/dev/null 2>&1; then
  run "hadolint" hadolint "$dockerfile"
else
  skip "hadolint: not installed (not in Debian)"
fi

echo "== scripts"
if command -v shellcheck >/dev/null 2>&1; then
  run "shellcheck" shellcheck "$here/healthcheck.sh" "$here/validate.sh" "$here/install-deps.sh"
  [[ -s "$tmp/topics.sh" ]] && run "shellcheck (topics script)" shellcheck -s bash "$tmp/topics.sh"
else
  skip "shellcheck: not installed (Debian: shellcheck)"
  run "bash -n" bash -n "$here/healthcheck.sh" "$here/validate.sh"
fi

echo
if ((${#skipped[@]})); then
  echo "skipped ${#skipped[@]}: ${skipped[*]%%:*}"
fi
if ((failed)); then
  echo "deploy/validate.sh: FAILED"
  exit 1
fi
echo "deploy/validate.sh: OK"
