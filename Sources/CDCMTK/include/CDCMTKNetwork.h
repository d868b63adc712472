/*
 * CDCMTKNetwork: the DICOM upper layer through DCMTK's dcmnet (DcmSCU), for `sonokit echo` and
 * `sonokit send`. No protocol code of our own: association negotiation, PDUs and DIMSE are DCMTK's.
 *
 * Presentation contexts: one per distinct (SOP class, transfer syntax) pair of the files, each
 * proposing exactly the file's own transfer syntax, so nothing is transcoded and the dataset
 * reaches the peer as stored (a peer that refuses the syntax refuses that file, reported per file).
 * At most 128 contexts fit in one association (odd context IDs 1..255); more pairs is an error.
 *
 * Thread safety: each call opens its own association; calls may run on several threads at once.
 */
#ifndef SONOKIT_CDCMTKNETWORK_H
#define SONOKIT_CDCMTKNETWORK_H

#include <stddef.h>
#include <stdint.h>
#include "CDCMTK.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The two ends of an association and its timeouts. */
typedef struct {
    const char *calling_ae;   /* our AE title (1-16 characters) */
    const char *called_ae;    /* the peer's AE title */
    const char *host;         /* the peer's host name or address */
    uint16_t port;
    int timeout_seconds;      /* TCP connect, ACSE and DIMSE timeout (> 0) */
    uint32_t max_pdu;         /* largest PDU we receive (DCMTK's default 16384 when 0) */
} SKAssociationParameters;

/** Opens an association proposing Verification, sends one C-ECHO, releases. Returns 1 when the
 *  peer answered Success, 0 with `error` (SK_ERR_NETWORK: DCMTK's words, e.g. "Association
 *  Rejected") otherwise. */
int sk_echo(const SKAssociationParameters *parameters, SKError *error);

/** The outcome of one file of sk_store_files. */
typedef struct {
    int sent;                 /* 1: a C-STORE response came back (see status); 0: not sent or no response */
    uint16_t status;          /* the C-STORE response status (0x0000 Success, 0xB000.. warnings, others failures) */
    char message[512];        /* when sent == 0 or status is not Success: why */
} SKStoreOutcome;

/** Sends `paths` (DICOM Part 10 files) with C-STORE over one association. Files that cannot be
 *  read, or whose (SOP class, transfer syntax) the peer did not accept, are reported in their
 *  outcome (sent = 0) and the others still go. Returns 1 when the association was made and
 *  released (whatever the statuses), 0 with `error` when it could not be made or broke (then
 *  the outcomes of the files not yet answered say so). `outcomes` has `count` entries. */
int sk_store_files(const SKAssociationParameters *parameters, const char *const *paths, size_t count,
                   SKStoreOutcome *outcomes, SKError *error);

#ifdef __cplusplus
}
#endif
#endif
