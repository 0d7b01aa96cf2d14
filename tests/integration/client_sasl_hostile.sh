#!/usr/bin/env bash
# libbrook's SCRAM and PLAIN client against a fake broker that misbehaves
# (tests/integration/client_sasl_hostile.py): a wrong server signature, a foreign
# nonce, a billion iterations, refusals; each fails in one line, sending nothing else.
. "$(dirname "$0")/../lib.sh"
tool "client_sasl_hostile.py" timeout 300 python3 \
    "$ROOT/tests/integration/client_sasl_hostile.py" "$ROOT/$BUILD/brook"
