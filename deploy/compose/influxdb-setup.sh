#!/bin/sh
# The `influxdb-setup` service of docker-compose.yml: runs once at every start of the stack, with the
# operator token, and is idempotent. It makes sure that
#   - the daily bucket exists (infinite retention);
#   - each service has its own InfluxDB token, with only the permissions it needs, in a file on a
#     volume that only that service (and this script) mounts:
#       grafana      read raw + read daily      (dashboards and alert rules only read)
#       collector    write raw + read raw       (read: its start-up check finds the bucket by name,
#                                                and InfluxDB lists only buckets a token may read)
#       aggregator   read raw + read/write daily (read daily: the nightly run asks for the last
#                                                aggregated day; write daily: it replaces days)
# A token is kept while InfluxDB still knows it with the same permissions; otherwise (first start,
# lost file, changed buckets, a restored InfluxDB) a new one is made and the old one deleted. From
# InfluxDB 2.9 on, tokens are stored hashed and listed empty: then the token on the volume is kept
# while an authorization of the same permissions exists and the token still authenticates.
# Tokens are never printed, nor passed as a command's argument (ps would show them).
#
# Environment: INFLUX_HOST, INFLUX_TOKEN (operator), INFLUX_ORG (read by the influx CLI itself),
# ADMIN_USER (owner of the new tokens), RAW_BUCKET, DAILY_BUCKET, TOKENS (default /tokens: one
# directory per service), GRAFANA_UID / PINGER_UID (owners of the token files: the users the
# grafana and pinger images run as).
set -eu

TOKENS=${TOKENS:-/tokens}
GRAFANA_UID=${GRAFANA_UID:-472}
PINGER_UID=${PINGER_UID:-10001}

# The influx CLI's --json output (influx-cli v2.7.5, clients/cli.go PrintJSON: encoding/json, one
# key per line, indented with tabs) read with awk: a key's string value at one depth of the document.
# json_values DEPTH KEY... prints, per object at that depth, its keys' values separated by tabs.
json_values() {
    awk -v depth="$1" -v keys="$*" '
        BEGIN { n = split(keys, k, " "); indent = ""; for (i = 1; i < depth; i++) indent = indent "\t" }
        $0 == indent "{" { for (i = 2; i <= n; i++) v[i] = ""; inside = 1; next }
        inside && ($0 == indent "}" || $0 == indent "},") {
            line = v[2]; for (i = 3; i <= n; i++) line = line "\t" v[i]; print line; inside = 0; next
        }
        inside && index($0, indent "\t\"") == 1 {
            for (i = 2; i <= n; i++) {
                prefix = indent "\t\"" k[i] "\": \""
                if (index($0, prefix) == 1) { rest = substr($0, length(prefix) + 1); sub(/",?$/, "", rest); v[i] = rest }
            }
        }'
}

bucket_id() {
    influx bucket list --name "$1" --json 2>/dev/null | json_values 2 id
}

if [ -n "$(bucket_id "$DAILY_BUCKET")" ]; then
    echo "bucket $DAILY_BUCKET exists"
else
    influx bucket create --name "$DAILY_BUCKET" --retention 0 >/dev/null
    echo "bucket $DAILY_BUCKET created (infinite retention)"
fi

raw=$(bucket_id "$RAW_BUCKET")
daily=$(bucket_id "$DAILY_BUCKET")
if [ -z "$raw" ] || [ -z "$daily" ]; then
    echo "influxdb-setup: bucket $RAW_BUCKET or $DAILY_BUCKET not found in organization $INFLUX_ORG" >&2
    exit 1
fi

# Every authorization as ID, description and token, one per line, tab-separated (a description is
# never empty nor holds a tab: this script sets ours). InfluxDB 2.9 stores tokens hashed and lists
# them with an empty token.
authorizations() {
    influx auth list --json | json_values 2 id description token
}

# The token in FILE still authenticates (InfluxDB 2.9: a hash cannot be compared): it may read the raw
# bucket, as each service's token may. The token goes through the environment, never the command line.
authenticates() {
    INFLUX_TOKEN=$(cat "$1") influx bucket list --name "$RAW_BUCKET" --json >/dev/null 2>&1
}

# ensure_token SERVICE OWNER PERMISSION-FLAGS...
ensure_token() {
    service=$1 owner=$2
    shift 2
    dir=$TOKENS/$service
    description="pinger $service: $*"
    listed=$(authorizations | awk -F '\t' -v d="$description" '$2 == d')
    if [ -s "$dir/influx-token" ] && [ -n "$listed" ]; then
        # The file is grep's list of patterns (-f), so that no token is ever an argument that ps shows.
        if printf '%s\n' "$listed" | cut -f3 | grep -qxFf "$dir/influx-token"; then
            echo "token of $service kept"
            return
        fi
        if [ -z "$(printf '%s\n' "$listed" | cut -f3 | tr -d '\n')" ] && authenticates "$dir/influx-token"; then
            echo "token of $service kept (InfluxDB stores tokens hashed: the one on the volume still authenticates)"
            return
        fi
    fi
    created=$(influx auth create --user "$ADMIN_USER" --description "$description" "$@" --json | json_values 1 id token)
    id=$(printf '%s\n' "$created" | cut -f1)
    token=$(printf '%s\n' "$created" | cut -f2)
    if [ -z "$id" ] || [ -z "$token" ]; then
        echo "influxdb-setup: could not create the token of $service" >&2
        exit 1
    fi
    (
        umask 077
        rm -f "$dir/influx-token.new"
        printf '%s\n' "$token" >"$dir/influx-token.new"
    )
    chown "$owner" "$dir/influx-token.new"
    chmod 0400 "$dir/influx-token.new"
    mv -f "$dir/influx-token.new" "$dir/influx-token"
    # Older tokens of this service (other permissions, or whose file was lost) go away, by ID.
    authorizations \
        | awk -F '\t' -v p="pinger $service: " -v keep="$id" 'index($2, p) == 1 && $1 != keep {print $1}' \
        | while read -r old; do influx auth delete --id "$old" --json >/dev/null; done
    echo "token of $service created"
}

ensure_token grafana "$GRAFANA_UID" --read-bucket "$raw" --read-bucket "$daily"
ensure_token collector "$PINGER_UID" --read-bucket "$raw" --write-bucket "$raw"
ensure_token aggregator "$PINGER_UID" --read-bucket "$raw" --read-bucket "$daily" --write-bucket "$daily"
