/*
 * juki_der_check: the asn1c side of the differential vector test (issue 15 item 1).
 *
 * Linked with the C that asn1c generates from spec/asn1 (run with -pdu=all, so that
 * asn_pdu_collection lists every type by its ASN.1 name). It reads a stream of records
 * on stdin and answers each with one record on stdout, so that one process judges every
 * vector:
 *
 *   request:  u8 name length, the type's ASN.1 name, u32 DER length, the DER
 *   answer:   u8 status, u32 payload length, the payload
 *
 * Lengths are big-endian. For each request the DER is decoded with ber_decode (asn1c's
 * BER decoder, lenient about DER's restrictions), the value's constraints are checked
 * with asn_check_constraints and it is re-encoded with der_encode. The caller compares
 * the re-encoding with the input: a BER decoder shows that an input was not DER by
 * re-encoding it to other octets.
 *
 * A workaround for asn1c 0.9.28 (vlm/asn1c issue 506): the generated code of a named
 * constrained type (ResidentCode ::= NumericString (SIZE (11))) replaces the
 * descriptor's check_constraints with its base type's the first time the type is
 * decoded, encoded or freed, so that from then on its constraint goes unchecked. The
 * driver keeps every type's own checker from before the first use and puts it back
 * before each check.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asn_application.h"
#include "ber_decoder.h"
#include "der_encoder.h"
#include "constraints.h"

extern asn_TYPE_descriptor_t *asn_pdu_collection[];

enum status {
    CHECK_REENCODED = 0,     /* payload: the DER re-encoding */
    CHECK_UNKNOWN_TYPE = 1,  /* payload: the name asked for */
    CHECK_UNDECODABLE = 2,   /* payload: why ber_decode refused */
    CHECK_TRAILING = 3,      /* payload: how many octets were left over */
    CHECK_CONSTRAINT = 4,    /* payload: asn_check_constraints' message */
    CHECK_UNENCODABLE = 5,   /* payload: the type der_encode failed on */
};

/* A growing buffer that der_encode writes into. */
struct sink {
    uint8_t *data;
    size_t size;
    size_t capacity;
};

static int sink_append(const void *buffer, size_t size, void *key) {
    struct sink *s = key;
    if (s->size + size > s->capacity) {
        size_t capacity = s->capacity ? s->capacity : 256;
        while (capacity < s->size + size) capacity *= 2;
        uint8_t *grown = realloc(s->data, capacity);
        if (!grown) return -1;
        s->data = grown;
        s->capacity = capacity;
    }
    memcpy(s->data + s->size, buffer, size);
    s->size += size;
    return 0;
}

static int read_exactly(void *buffer, size_t size) {
    return size == 0 || fread(buffer, 1, size, stdin) == size;
}

static uint32_t be32(const uint8_t *b) {
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static void answer(enum status status, const void *payload, size_t size) {
    uint8_t head[5] = {(uint8_t)status, (uint8_t)(size >> 24), (uint8_t)(size >> 16),
                       (uint8_t)(size >> 8), (uint8_t)size};
    fwrite(head, 1, sizeof head, stdout);
    fwrite(payload, 1, size, stdout);
    fflush(stdout);
}

static void answer_text(enum status status, const char *text) {
    answer(status, text, strlen(text));
}

/* The constraint checker of each type of asn_pdu_collection, as generated. */
static asn_constr_check_f **own_checkers;

static void keep_own_checkers(void) {
    size_t count = 0;
    while (asn_pdu_collection[count]) count++;
    own_checkers = calloc(count + 1, sizeof *own_checkers);
    if (!own_checkers) exit(2);
    for (size_t i = 0; i < count; i++)
        own_checkers[i] = asn_pdu_collection[i]->check_constraints;
}

static void restore_own_checkers(void) {
    for (size_t i = 0; asn_pdu_collection[i]; i++)
        asn_pdu_collection[i]->check_constraints = own_checkers[i];
}

static asn_TYPE_descriptor_t *find_type(const char *name) {
    for (asn_TYPE_descriptor_t **td = asn_pdu_collection; *td; td++)
        if (strcmp((*td)->name, name) == 0) return *td;
    return NULL;
}

static void check(asn_TYPE_descriptor_t *td, const uint8_t *der, size_t size) {
    /* Bounds the decoder's recursion, so that deeply nested input is refused rather
     * than overflowing the stack. */
    asn_codec_ctx_t ctx = {.max_stack_size = 256 * 1024};
    void *value = NULL;
    char text[256] = "";
    asn_dec_rval_t rv = ber_decode(&ctx, td, &value, der, size);
    if (rv.code != RC_OK) {
        snprintf(text, sizeof text, "%s after %zu octets",
                 rv.code == RC_WMORE ? "needs more data" : "refused", rv.consumed);
        answer_text(CHECK_UNDECODABLE, text);
    } else if (rv.consumed != size) {
        snprintf(text, sizeof text, "%zu octets after the value", size - rv.consumed);
        answer_text(CHECK_TRAILING, text);
    } else {
        size_t length = sizeof text;
        restore_own_checkers();
        if (asn_check_constraints(td, value, text, &length) != 0) {
            answer(CHECK_CONSTRAINT, text, strlen(text));
        } else {
            struct sink out = {0};
            asn_enc_rval_t er = der_encode(td, value, sink_append, &out);
            if (er.encoded < 0)
                answer_text(CHECK_UNENCODABLE,
                            er.failed_type ? er.failed_type->name : "(unknown)");
            else
                answer(CHECK_REENCODED, out.data, out.size);
            free(out.data);
        }
    }
    if (value) td->free_struct(td, value, 0);
}

int main(void) {
    keep_own_checkers();
    for (;;) {
        uint8_t name_length, length[4];
        char name[256];
        if (!read_exactly(&name_length, 1)) return 0;   /* the end of the stream */
        if (!read_exactly(name, name_length) || !read_exactly(length, 4)) return 2;
        name[name_length] = '\0';
        size_t size = be32(length);
        uint8_t *der = malloc(size ? size : 1);
        if (!der || !read_exactly(der, size)) return 2;
        asn_TYPE_descriptor_t *td = find_type(name);
        if (td)
            check(td, der, size);
        else
            answer_text(CHECK_UNKNOWN_TYPE, name);
        free(der);
    }
}
