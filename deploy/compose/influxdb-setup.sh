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
# lost file, changed buckets, a restored InfluxDB) a new one is made and the old one deleted.
# Tokens are never printed.
#
# Environment: INFLUX_HOST, INFLUX_TOKEN (operator), INFLUX_ORG (read by the influx CLI itself),
# ADMIN_USER (owner of the new tokens), RAW_BUCKET, DAILY_BUCKET, TOKENS (default /tokens: one
# directory per service), GRAFANA_UID / PINGER_UID (owners of the token files: the users the
# grafana and pinger images run as).
set -eu

TOKENS=${TOKENS:-/tokens}
GRAFANA_UID=${GRAFANA_UID:-472}
PINGER_UID=${PINGER_UID:-10001}

bucket_id() {
    influx bucket list --name "$1" --hide-headers 2>/dev/null | cut -f1
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

# ensure_token SERVICE OWNER PERMISSION-FLAGS...
# `influx auth list/create --hide-headers` print ID, Description, Token, User Name, ... as a table
# aligned with tabs (Go's tabwriter): a cell shorter than its column's widest is followed by several
# tabs, so fields are split at runs of tabs (a description is never empty: this script sets it).
ensure_token() {
    service=$1 owner=$2
    shift 2
    dir=$TOKENS/$service
    description="pinger $service: $*"
    listed=$(influx auth list --hide-headers | awk -F '\t+' -v d="$description" '$2 == d {print $3}')
    if [ -s "$dir/influx-token" ] && [ -n "$listed" ] \
        && printf '%s\n' "$listed" | grep -qxF "$(cat "$dir/influx-token")"; then
        echo "token of $service kept"
        return
    fi
    token=$(influx auth create --user "$ADMIN_USER" --description "$description" "$@" --hide-headers | awk -F '\t+' '{print $3}')
    if [ -z "$token" ]; then
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
    # Older tokens of this service (other permissions, or whose file was lost) go away.
    influx auth list --hide-headers \
        | awk -F '\t+' -v p="pinger $service: " -v t="$token" 'index($2, p) == 1 && $3 != t {print $1}' \
        | while read -r id; do influx auth delete --id "$id" >/dev/null; done
    echo "token of $service created"
}

ensure_token grafana "$GRAFANA_UID" --read-bucket "$raw" --read-bucket "$daily"
ensure_token collector "$PINGER_UID" --read-bucket "$raw" --write-bucket "$raw"
ensure_token aggregator "$PINGER_UID" --read-bucket "$raw" --read-bucket "$daily" --write-bucket "$daily"
