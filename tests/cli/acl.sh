#!/usr/bin/env bash
# brook acl list|create|delete against brookd: bindings made with kafka-acls.sh's
# option names, listed and filtered (a prefixed binding found by a MATCH filter on
# a name it covers), deleted by filter; the one-line errors for a binding the
# broker refuses, for missing options, and for a broker without an authorizer.
. "$(dirname "$0")/../lib.sh"
BR() { timeout -k 10 60 "$ROOT/$BUILD/brook" -b "$BROKER" "$@"; }
brookd_start -o authorizer.class.name=brook -o super.users=User:ANONYMOUS ||
    { fail "cli acl: brookd starts"; exit 1; }

BR acl create --allow-principal User:alice --operation Read --topic orders >"$T/out" 2>&1
check "brook acl create allows a principal" grep -q "Created: allow read on topic orders" "$T/out"
BR acl create --deny-principal User:bob --operation DESCRIBE_CONFIGS --topic logs- \
    --resource-pattern-type prefixed --host 10.0.0.1 >/dev/null
check "brook acl create takes Kafka's spellings of operations and pattern types" [ $? -eq 0 ]
BR acl create --allow-principal User:alice --operation read --group g1 >/dev/null
BR acl create --allow-principal User:ops --operation alter --cluster >/dev/null
check "brook acl create --cluster" [ $? -eq 0 ]

BR acl list >"$T/list"
check "brook acl list shows every binding" [ "$(wc -l <"$T/list")" -eq 4 ]
check "brook acl list shows the host and pattern" \
    grep -qP '^topic\tlogs-\tprefixed\tUser:bob\t10.0.0.1\tdescribe-configs\tdeny$' "$T/list"
BR acl list --topic logs-x --resource-pattern-type match >"$T/list"
check "a MATCH filter finds the prefixed binding covering a name" \
    [ "$(cut -f2 "$T/list")" = "logs-" ]
BR acl list --principal User:alice --group g1 >"$T/list"
check "a filter by principal and resource" [ "$(cut -f1,2 "$T/list")" = "$(printf 'group\tg1')" ]

BR acl delete --principal User:alice >"$T/out" 2>"$T/err"
check "brook acl delete removes what its filter matches" grep -q "Deleted 2 ACLs." "$T/err"
check "brook acl delete lists them" [ "$(wc -l <"$T/out")" -eq 2 ]
BR acl list >"$T/list"
check "the others are kept" [ "$(wc -l <"$T/list")" -eq 2 ]

BR acl create --allow-principal alice --operation read --topic x 2>"$T/err"
check "a binding the broker refuses: exit 1" [ $? -eq 1 ]
check "a binding the broker refuses: one line saying why" grep -q "TYPE:NAME" "$T/err"
BR acl create --operation read --topic x 2>"$T/err"
check "a missing principal is a usage error (exit 2)" [ $? -eq 2 ]
BR acl create --allow-principal User:a --operation read --topic x --group y 2>"$T/err"
check "two resources are a usage error (exit 2)" [ $? -eq 2 ]
BR acl create --allow-principal User:a --operation sing --topic x 2>"$T/err"
check "an unknown operation is a usage error naming it" grep -q "unknown operation 'sing'" "$T/err"
brookd_stop

brookd_start || { fail "cli acl: brookd restarts without an authorizer"; exit 1; }
BR acl list 2>"$T/err"
check "without an authorizer: exit 1" [ $? -eq 1 ]
check "without an authorizer: the broker's reason" grep -qi "security" "$T/err"
brookd_stop
