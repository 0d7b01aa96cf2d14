#!/usr/bin/env bash
# gen_api_docs_uptodate.sh - docs/protocol.md's generated table of API versions is
# exactly what `brookd --help-apis` prints from advertised_apis, and every range
# there that departs from Kafka 4.0's carries a note saying why.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
brookd=${BUILD:-build}/brookd
name="API version docs up to date"
if scripts/gen_api_docs --check "$brookd"; then
    echo "ok - $name"
else
    echo "not ok - $name"
fi
name="API versions: every departure from Kafka 4.0 is named in advertised_apis"
if out=$(scripts/gen_api_docs --unexplained "$brookd"); then
    echo "ok - $name"
else
    echo "not ok - $name"
    sed 's/^/# /' <<<"$out"
fi
