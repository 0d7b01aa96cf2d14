/*
 * h_sasl.c - SaslHandshake and SaslAuthenticate, which brook declines.
 *
 * brook does not authenticate clients: a handshake is answered with
 * UNSUPPORTED_SASL_MECHANISM (the client learns that no mechanism is on offer),
 * and an authentication attempt with ILLEGAL_SASL_STATE, since no handshake can
 * have succeeded before it. A client configured for SASL thus fails at once with
 * Kafka's own errors rather than hanging.
 */
#include "broker/private.h"

void handle_sasl_handshake(struct request *rq)
{
    struct kafka_sasl_handshake_resp *resp = response_new(rq);
    resp->error_code = KAFKA_UNSUPPORTED_SASL_MECHANISM;
    request_respond(rq, resp);
}

void handle_sasl_authenticate(struct request *rq)
{
    struct kafka_sasl_authenticate_resp *resp = response_new(rq);
    resp->error_code = KAFKA_ILLEGAL_SASL_STATE;
    resp->error_message = KSTR("brook does not authenticate clients");
    request_respond(rq, resp);
}
