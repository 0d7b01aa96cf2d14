#!/usr/bin/env bash
# tests/certs.sh - a throw-away certificate authority for the TLS tests, made
# with the openssl command exactly as docs/security.md tells an operator to.
#
# usage: bash tests/certs.sh DIR     (or source it and call certs_make DIR)
# Writes into DIR:
#   ca.pem, ca.key              the CA (self-signed, 1 day)
#   server.pem                  the broker's key and chain in one file (ssl.keystore.location)
#   server.crt, server.key      the same, apart (ssl.keystore.certificate.chain / .key)
#   server-enc.pem              the key encrypted with the password "secret", and the chain
#   alice.crt, alice.key        a client certificate, CN=alice,OU=eng,O=example
#   mallory.crt, mallory.key    a client certificate from another CA (other-ca.pem)
# Keys are EC P-256: quick to make, and what a deployment would choose today.

certs_make() {
    local d=$1
    [ -n "$d" ] || return 1
    mkdir -p "$d"
    (
        set -euo pipefail
        cd "$d"
        local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
        openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 1 \
            -subj "/O=example/CN=brook test CA" 2>/dev/null
        openssl req -x509 "${ec[@]}" -keyout other-ca.key -out other-ca.pem -days 1 \
            -subj "/CN=some other CA" 2>/dev/null
        # the broker: its name and loopback address, as clients verify them
        openssl req "${ec[@]}" -keyout server.key -out server.csr \
            -subj "/CN=localhost" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 1 -extfile server.ext -out server.crt 2>/dev/null
        cat server.key server.crt ca.pem >server.pem
        openssl pkey -in server.key -aes256 -passout pass:secret -out server-enc.key
        cat server-enc.key server.crt >server-enc.pem
        # clients
        openssl req "${ec[@]}" -keyout alice.key -out alice.csr \
            -subj "/O=example/OU=eng/CN=alice" 2>/dev/null
        openssl x509 -req -in alice.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 1 -out alice.crt 2>/dev/null
        openssl req "${ec[@]}" -keyout mallory.key -out mallory.csr \
            -subj "/CN=mallory" 2>/dev/null
        openssl x509 -req -in mallory.csr -CA other-ca.pem -CAkey other-ca.key \
            -CAcreateserial -days 1 -out mallory.crt 2>/dev/null
        rm -f ./*.csr ./*.ext ./*.srl
    )
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    certs_make "${1:?usage: tests/certs.sh DIR}"
fi
