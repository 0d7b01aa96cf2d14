#!/usr/bin/env bash
# gen_api_docs_uptodate.sh - docs/protocol.md's generated table of API versions is
# exactly what `brookd --help-apis` prints from advertised_apis.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
name="API version docs up to date"
if scripts/gen_api_docs --check "${BUILD:-build}/brookd"; then
    echo "ok - $name"
else
    echo "not ok - $name"
fi
