#!/usr/bin/env bash
# The production stack end to end, on a machine with a Docker engine and the Compose plugin (the CI
# job "e2e" in .github/workflows/ci.yml runs it):
#
#   tests/e2e/compose_e2e.sh            # from anywhere; it works in the checkout it belongs to
#
# It brings up docker-compose.yml plus tests/e2e/compose.targets.yml (two target containers, the
# test's config) as its own compose project, with throw-away secrets, and checks, printing each check:
# the collector pings the targets (one stopped halfway) and the points land in InfluxDB; `pinger
# aggregate` writes a day; Grafana answers (/api/health, the four dashboards in the Pinger folder,
# the datasource's health, the daily CSV table's Flux through /api/ds/query) and Grafana's own
# InfluxDB token cannot write; the backup commands of docs/operations.md work. The project is removed at the
# end (E2E_KEEP=1 keeps it); on failure the logs go to $E2E_LOGS (default: e2e-logs/).
#
# Exit codes: 0 passed, 1 a check failed, 77 skipped (no docker CLI, no reachable Docker engine, or
# no Compose plugin): the reason is printed, and nothing was started.
set -euo pipefail

SKIP=77
cd "$(dirname "$0")/../.."
ROOT=$PWD

skip() { echo "compose_e2e: SKIP: $*"; exit "$SKIP"; }

command -v docker >/dev/null 2>&1 || skip "no docker CLI on PATH"
if ! engine=$(docker info --format '{{.ServerVersion}}' 2>&1); then
  skip "no Docker engine reachable ($(echo "$engine" | grep -m1 -i -E 'cannot|error|denied' || echo 'docker info failed'))"
fi
docker compose version >/dev/null 2>&1 || skip "Docker engine $engine, but no Compose plugin (docker compose)"

PROJECT=${E2E_PROJECT:-pinger-e2e}
GRAFANA_PORT=${E2E_GRAFANA_PORT:-3300}
LOGS=${E2E_LOGS:-$ROOT/e2e-logs}
WORK=$(mktemp -d)
ENV_FILE=$WORK/env
POOL=E2E
STEP=0

step() { STEP=$((STEP + 1)); echo; echo "== $STEP. $*"; }
ok() { echo "   ok: $*"; }
indent() { sed "s/^/   /"; }
fail() { echo "   FAILED: $*" >&2; exit 1; }
compose() {
  docker compose --project-name "$PROJECT" --env-file "$ENV_FILE" --profile e2e \
    -f "$ROOT/docker-compose.yml" -f "$ROOT/tests/e2e/compose.targets.yml" "$@"
}

finish() {
  status=$?
  set +e
  if [ "$status" -ne 0 ] && [ "$status" -ne "$SKIP" ]; then
    mkdir -p "$LOGS"
    compose ps -a >"$LOGS/ps.txt" 2>&1
    compose logs --no-color --timestamps >"$LOGS/compose.log" 2>&1
    for service in collector aggregator influxdb grafana; do
      compose logs --no-color --timestamps "$service" >"$LOGS/$service.log" 2>&1
    done
    echo "compose_e2e: FAILED at step $STEP; logs in $LOGS" >&2
  fi
  if [ "${E2E_KEEP:-0}" != 1 ]; then
    compose down --volumes --remove-orphans --timeout 30 >/dev/null 2>&1
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT

# .env.example with a fresh random value for each empty token and password; the rest keep theirs.
random() { openssl rand -hex 24; }
while IFS= read -r line; do
  case "$line" in
    *_TOKEN= | *_PASSWORD=) echo "$line$(random)" ;;
    *) echo "$line" ;;
  esac
done <.env.example >"$ENV_FILE"
set_env() { sed -i "s|^$1=.*|$1=$2|" "$ENV_FILE"; grep -q "^$1=" "$ENV_FILE" || echo "$1=$2" >>"$ENV_FILE"; }
env_value() { sed -n "s/^$1=//p" "$ENV_FILE"; }
set_env GRAFANA_PORT "$GRAFANA_PORT"
set_env PINGER_TIMEZONE UTC   # tests/e2e/config/pools.yaml follows it
set_env PINGER_INTERVAL 10s   # the interval of tests/e2e/config/pools.yaml
BUCKET=$(env_value INFLUX_BUCKET)
GRAFANA="http://127.0.0.1:$GRAFANA_PORT"
GRAFANA_AUTH="$(env_value GRAFANA_ADMIN_USER):$(env_value GRAFANA_ADMIN_PASSWORD)"

# Flux through the influx CLI inside the influxdb container (logged in as the admin at setup); the
# result as CSV rows without annotations, one header line first.
flux() {
  compose exec -T influxdb influx query --raw "$1" |
    python3 -c 'import csv, sys
rows = [r for r in csv.reader(sys.stdin) if r and not r[0].startswith("#")]
header = None
for row in rows:
    if row[1:3] == ["result", "table"]:
        if header is None: print(",".join(row[3:])); header = row
        continue
    print(",".join(row[3:]))'
}
# The `up` samples of a host since a time (default: an hour ago), oldest first: "1 1 1 0 0"
samples_of() {
  flux "from(bucket: \"$BUCKET\") |> range(start: ${2:--1h})
    |> filter(fn: (r) => r._measurement == \"ping\" and r._field == \"up\" and r.host == \"$1\")
    |> keep(columns: [\"_time\", \"_value\"]) |> sort(columns: [\"_time\"])" |
    awk -F, 'NR > 1 { printf "%s ", $NF } END { print "" }'
}
count() {  # count WORD "WORDS": how often WORD is among WORDS
  local values value n=0
  read -ra values <<<"$2"
  for value in "${values[@]}"; do [ "$value" = "$1" ] && n=$((n + 1)); done
  echo "$n"
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: run COMMAND every 5 s until it succeeds
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: not within $seconds s"
    sleep 5
  done
}
grafana_get() { curl -fsS --max-time 30 -u "$GRAFANA_AUTH" "$GRAFANA$1"; }
grafana_query() {  # POST /api/ds/query with one Flux query; prints the HTTP status, then the body
  python3 -c 'import json, sys
print(json.dumps({"from": "now-7d", "to": "now+1d", "queries": [{"refId": "A",
      "datasource": {"type": "influxdb", "uid": "pinger-influxdb"}, "query": sys.argv[1]}]}))' "$1" >"$WORK/query.json"
  curl -sS --max-time 60 -u "$GRAFANA_AUTH" -H 'Content-Type: application/json' \
    -o "$WORK/answer.json" -w '%{http_code}\n' --data @"$WORK/query.json" "$GRAFANA/api/ds/query"
  cat "$WORK/answer.json"
}

echo "compose_e2e: Docker engine $engine, $(docker compose version --short 2>/dev/null || echo 'compose'), project $PROJECT"

step "the compose files are valid together (docker compose config)"
compose config --quiet
ok "docker-compose.yml + tests/e2e/compose.targets.yml"

step "build the pinger image"
compose build --quiet collector
ok "pinger:local built"

step "InfluxDB starts and is healthy"
compose up -d --wait --wait-timeout 300 influxdb
ok "influxdb healthy"

step "the whole stack and both targets come up (docker compose up -d --wait)"
compose up -d --wait --wait-timeout 600 influxdb grafana collector aggregator target-a target-b
compose ps
ok "every long-running service running or healthy"

step "the collector is healthy by \`pinger health\` (the image's HEALTHCHECK)"
compose exec -T collector pinger health || fail "pinger health exited $?"

step "sweeps of both targets land in InfluxDB (at least 3 up samples each)"
both_up() {
  a=$(samples_of target-a)
  b=$(samples_of target-b)
  echo "   up samples: target-a: $a  target-b: $b"
  [ "$(count 1 "$a")" -ge 3 ] && [ "$(count 1 "$b")" -ge 3 ]
}
wait_for 180 "three sweeps with both targets up" both_up
ok "both targets answered"

step "target-b is stopped halfway: its samples turn to off, target-a stays on"
stopped_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
compose stop target-b
b_off() {  # since the stop: target-b's last two samples off, target-a's all on (a sweep in flight may see b on)
  a=$(samples_of target-a "$stopped_at")
  b=$(samples_of target-b "$stopped_at")
  echo "   since $stopped_at: target-a: $a  target-b: $b"
  [[ "$b" == *"0 0 " ]] && [ "$(count 0 "$a")" -eq 0 ] && [ "$(count 1 "$a")" -ge 2 ]
}
wait_for 120 "two sweeps with target-b off" b_off
ok "target-b off since it stopped; target-a still on"

step "the collector measurement reports the sweeps (hosts = 2)"
collector_rows=$(flux "from(bucket: \"$BUCKET\") |> range(start: -1h)
  |> filter(fn: (r) => r._measurement == \"collector\" and r.collector == \"e2e\" and r._field == \"hosts\")
  |> last() |> keep(columns: [\"_value\"])")
indent <<<"$collector_rows"
[ "$(echo "$collector_rows" | tail -n 1)" = 2 ] || fail "the newest collector point does not say hosts=2"
ok "collector points present"

today=$(date -u +%F)
step "pinger aggregate writes today ($today) into ${BUCKET}_daily"
compose run --rm -T aggregator aggregate --date "$today"
daily=$(flux "from(bucket: \"${BUCKET}_daily\") |> range(start: -2d, stop: 1d)
  |> filter(fn: (r) => r._measurement == \"pool_daily\" and r.pool == \"$POOL\")
  |> pivot(rowKey: [\"_time\"], columnKey: [\"_field\"], valueColumn: \"_value\")
  |> keep(columns: [\"date\", \"pcs_total\", \"pcs_used\", \"runtime_h\"])")
indent <<<"$daily"
echo "$daily" | python3 -c 'import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert rows, "no pool_daily row"
row = rows[-1]
assert row["date"] == sys.argv[1], row
assert int(float(row["pcs_total"])) == 2 and int(float(row["pcs_used"])) == 2, row
assert float(row["runtime_h"]) > 0, row' "$today" || fail "the pool_daily row of $today is not as expected"
ok "pool_daily of $POOL on $today: 2 PCs, both used, runtime > 0"

step "Grafana /api/health says the database is ok"
grafana_get /api/health | tee "$WORK/health.json" | indent
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["database"] == "ok"' "$WORK/health.json" ||
  fail "Grafana's database is not ok"
ok "/api/health"

step "Grafana /api/search finds the four dashboards in the Pinger folder"
grafana_get "/api/search?type=dash-db" >"$WORK/search.json"
python3 - "$WORK/search.json" grafana/dashboards/*.json <<'EOF' || fail "the Pinger folder does not hold the four dashboards"
import json, sys
found = {item["title"] for item in json.load(open(sys.argv[1])) if item.get("folderTitle") == "Pinger"}
shipped = {json.load(open(path))["title"] for path in sys.argv[2:]}
print(f"   in the Pinger folder: {', '.join(sorted(found))}")
assert len(shipped) == 4 and found == shipped, (found, shipped)
EOF
ok "/api/search"

step "Grafana's datasource pinger-influxdb is healthy"
grafana_get /api/datasources/uid/pinger-influxdb/health | tee "$WORK/ds.json" | indent
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["status"] == "OK"' "$WORK/ds.json" ||
  fail "the datasource is not healthy"
ok "datasource health OK"

step "/api/ds/query runs the daily CSV table's Flux (as the dashboard sends it) and returns its header"
csv_flux=$(python3 - "$POOL" <<'EOF'
import json, re, sys
dashboard = json.load(open("grafana/dashboards/daily-runtime-energy.json"))
panel = next(p for p in dashboard["panels"] if p.get("type") == "table" and "Download CSV" in p.get("title", ""))
query = panel["targets"][0]["query"]
# What Grafana's front end substitutes before sending: the dashboard's time zone and the pool variable.
query = query.replace("${pool:regex}", re.escape(sys.argv[1]))
assert "${" not in query, "a dashboard variable left in the query"
print(query)
EOF
)
grafana_query "$csv_flux" >"$WORK/csv.out"
python3 - "$WORK/csv.out" "$POOL" <<'EOF' || fail "the daily CSV table's answer is not as expected"
import json, sys
status, body = open(sys.argv[1]).read().split("\n", 1)
answer = json.loads(body)["results"]["A"]
assert status == "200" and "error" not in answer, (status, answer.get("error"))
header = [field["name"] for field in answer["frames"][0]["schema"]["fields"]]
print(f"   header: {','.join(header)}")
pool = sys.argv[2]
expected = {f"{pool} {name}" for name in ("runtime_h", "avg_runtime_h", "energy_kwh", "pcs_total", "pcs_used")}
assert header[0] == "date" and set(header[1:]) == expected, header
EOF
ok "date plus $POOL's five columns"

step "Grafana's own InfluxDB token (made by influxdb-setup) cannot write: a Flux to() through Grafana is refused"
probe="import \"array\"
array.from(rows: [{_time: now(), _measurement: \"e2e_write_probe\", _field: \"x\", _value: 1}])
  |> to(bucket: \"$BUCKET\")"
grafana_query "$probe" >"$WORK/probe.out"
python3 - "$WORK/probe.out" <<'EOF' || fail "the to() through Grafana was not refused"
import json, sys
status, body = open(sys.argv[1]).read().split("\n", 1)
answer = json.loads(body).get("results", {}).get("A", {})
error = answer.get("error", "")
print(f"   HTTP {status}: {error[:160]}")
assert status != "200" or error, "accepted"
assert any(word in error.lower() for word in ("unauthoriz", "permission", "forbidden", "not authorized", "insufficient")), error
EOF
written=$(flux "from(bucket: \"$BUCKET\") |> range(start: -1h) |> filter(fn: (r) => r._measurement == \"e2e_write_probe\")" | wc -l)
[ "$written" -le 1 ] || fail "the probe point was written after all"
ok "refused, and nothing written"

step "backup as docs/operations.md says: influx backup, copied out of the container"
compose exec -T influxdb influx backup /tmp/backup-e2e
compose cp influxdb:/tmp/backup-e2e "$WORK/influxdb-backup"
compose exec -T influxdb rm -rf /tmp/backup-e2e
find "$WORK/influxdb-backup" -type f | indent
[ -n "$(ls "$WORK/influxdb-backup")" ] || fail "the backup is empty"
ok "InfluxDB backed up"

step "restore as docs/operations.md says: the daily bucket next to the live one"
compose cp "$WORK/influxdb-backup" influxdb:/tmp/restore-e2e
compose exec -T influxdb influx restore /tmp/restore-e2e --bucket "${BUCKET}_daily" --new-bucket "${BUCKET}_daily_restored"
restored=$(flux "from(bucket: \"${BUCKET}_daily_restored\") |> range(start: -2d, stop: 1d)
  |> filter(fn: (r) => r._measurement == \"pool_daily\" and r._field == \"pcs_total\") |> keep(columns: [\"_value\"])")
[ "$(echo "$restored" | tail -n 1)" = 2 ] || fail "the restored bucket lacks today's pool_daily row"
ok "${BUCKET}_daily_restored holds today's row"

step "the spool (SQLite, WAL) backed up while the collector runs: VACUUM INTO, as docs/operations.md says"
compose exec -T collector python -c "import sqlite3; sqlite3.connect('data/spool.sqlite').execute(\"VACUUM INTO 'data/spool-backup.sqlite'\")"
compose cp collector:/var/lib/pinger/data/spool-backup.sqlite "$WORK/spool-backup.sqlite"
compose exec -T collector rm data/spool-backup.sqlite
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print("   integrity:", db.execute("PRAGMA integrity_check").fetchone()[0])
assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
print("   newest sweep recorded:", db.execute("SELECT collector, time FROM newest_sweep").fetchall())' "$WORK/spool-backup.sqlite" ||
  fail "the spool copy is not sound"
compose exec -T collector pinger health
ok "spool copied consistently; the collector kept sweeping"

echo
echo "compose_e2e: all $STEP steps passed"
