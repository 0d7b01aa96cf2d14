#!/usr/bin/env bash
# acl.sh - the mount under ACLs: it acts as fuse.principal, lists only the topics
# that principal may describe, and answers EACCES where its ACLs say no (reading
# without READ, appending without WRITE, creating without CREATE, deleting without
# DELETE); brookd refuses to mount with ACLs on and no fuse.principal.
. "$(dirname "$0")/lib.bash"
fuse_setup "$@"

D=$T/data M=$T/mnt
mkdir -p "$M"
BR() { t "$BUILD/brook" -b "$BROKER" "$@"; }
AUTHZ=(-o authorizer.class.name=brook -o super.users=User:ANONYMOUS)
if ! daemon_start "$D" "$M" "${AUTHZ[@]}" -o fuse.principal=User:mount; then
    not_ok "fuse acl: daemon starts"
    exit 1
fi
# the Kafka side (unauthenticated, a super user here) makes topics and the ACLs
for topic in orders other logs-a; do BR topic create "$topic" >/dev/null; done
echo o1 | BR produce orders >/dev/null
BR acl create --allow-principal User:mount --operation read --topic orders >/dev/null
BR acl create --allow-principal User:mount --operation write --topic logs- \
    --resource-pattern-type prefixed >/dev/null

expect() { # expect ERRNO NAME probe-args...
    local want=$1 name=$2 got
    shift 2
    got=$(probe "$@")
    if [ "$got" = "$want" ]; then ok "fuse acl: $name: $want"; else not_ok "fuse acl: $name: want $want, got $got"; fi
}

check "fuse acl: the root lists only the topics the principal may describe" \
    [ "$(t ls "$M" | grep -v -- '-[0-9]*$' | tr '\n' ' ')" = "logs-a orders " ]
check "fuse acl: a topic with READ reads" [ "$(t cat "$M/orders")" = o1 ]
expect EACCES "appending without WRITE" errno open "$M/orders" wronly,append
expect EACCES "appending to a partition without WRITE" errno open "$M/orders-0/data" wronly,append
expect OK "appending with a prefixed WRITE" errno open "$M/logs-a" wronly,append
expect EACCES "reading with WRITE only" errno open "$M/logs-a" rdonly
expect EACCES "a topic it may not describe" errno open "$M/other" rdonly
expect EACCES "a partition of a topic it may not describe" errno open "$M/other-0/data" rdonly
expect EACCES "creating a topic without CREATE" errno mknod "$M/newtopic"
expect EACCES "deleting a topic without DELETE" errno unlink "$M/logs-a"
check "fuse acl: the refused operations changed nothing" \
    [ "$(BR topic list | cut -f1 | sort | tr '\n' ' ')" = "logs-a orders other " ]
BR acl create --allow-principal User:mount --operation delete --topic logs-a >/dev/null
expect OK "deleting once DELETE is granted" errno unlink "$M/logs-a"
BR acl create --allow-principal User:mount --operation create --cluster >/dev/null
expect OK "creating once CREATE on the cluster is granted" errno mknod "$M/newtopic"
daemon_stop
check "fuse acl: brookd stops cleanly" [ $? -eq 0 ]

# ACLs and a mount without fuse.principal: refused at start, with the reason
timeout -k 5 30 "$HARNESS" -d "$D" -m "$M" -l 127.0.0.1:0 --console off "${AUTHZ[@]}" \
    >"$T/refused.log" 2>&1
check "fuse acl: ACLs on and no fuse.principal: brookd does not start" [ $? -ne 0 ]
check "fuse acl: the reason names fuse.principal" grep -q "fuse.principal" "$T/refused.log"
