#!/usr/bin/env bash
# ApiVersions answers exactly the advertised_apis table that `brookd --help-apis`
# prints and docs/protocol.md shows (tests/integration/api_versions_table.py).
. "$(dirname "$0")/../lib.sh"
table=$(mktemp)
trap 'rm -f "$table"' EXIT
"$BUILD/brookd" --help-apis >"$table"
check "api versions table: brookd --help-apis exits 0" [ $? -eq 0 ]
brookd_start || { fail "api versions table: brookd starts"; exit 1; }
tool "api_versions_table.py" timeout 60 python3 "$ROOT/tests/integration/api_versions_table.py" \
    "$BROKER" "$table"
brookd_stop
check "api versions table: brookd stops cleanly afterwards" [ $? -eq 0 ]
