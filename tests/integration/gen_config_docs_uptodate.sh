#!/usr/bin/env bash
# gen_config_docs_uptodate.sh - docs/operations.md's generated configuration
# section is exactly what `brookd --help-config` prints from the code's tables.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
name="configuration docs up to date"
if scripts/gen_config_docs --check "${BUILD:-build}/brookd"; then
    echo "ok - $name"
else
    echo "not ok - $name"
fi
