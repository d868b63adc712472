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


/* ---- The receiving side: a Storage SCP + Verification SCP on DCMTK's DcmSCPPool ----
 *
 * DcmSCPPool accepts on one thread and runs each association on a worker thread of its own (at
 * most `max_associations` at once; one more is rejected by DCMTK with A-ASSOCIATE-RJ "local limit
 * exceeded"). Every C-STORE dataset is received by DCMTK straight into a temporary file
 * `store_dir/.incoming-*.part` exactly as it came off the wire (bit-preserving, with a Part 10 meta
 * header), then handed to `on_store`, which makes it durable (or removes it) and returns the
 * C-STORE status; the response is sent only after `on_store` returns. A temporary file left by a
 * failed receive (peer gone, timeout) is removed before the association ends.
 *
 * The callbacks run on the worker threads, possibly several at once. One listener per process. */

/** The policy of an association: return 1 to accept, 0 to reject with A-ASSOCIATE-RJ "calling AE
 *  title not recognized" (rejected-permanent, service-user). */
typedef int (*SKAssociationPolicy)(void *context, const char *calling_ae, const char *called_ae, const char *peer_ip);
/** One received instance in `temp_path`: returns the C-STORE status (0x0000 Success, else a failure).
 *  It owns the file from then on (renames or deletes it). */
typedef uint16_t (*SKStoreHandler)(void *context, const char *temp_path, const char *sop_class_uid,
                                   const char *calling_ae, const char *peer_ip);
/** A line for the log (no identifiers: DCMTK's words about the association or a receive failure). */
typedef void (*SKListenerLog)(void *context, const char *line);

typedef struct {
    const char *ae_title;          /* our AE title */
    uint16_t port;
    const char *store_dir;         /* where temporary files are received (the store, same filesystem) */
    uint32_t max_pdu;              /* largest PDU we receive (0: DCMTK's default 16384) */
    uint16_t max_associations;     /* concurrent associations (>= 1) */
    int timeout_seconds;           /* ACSE and DIMSE timeout */
    const char *const *sop_classes;        /* accepted storage SOP classes (Verification is always accepted) */
    size_t sop_class_count;
    const char *const *transfer_syntaxes;  /* accepted transfer syntaxes, in order of preference */
    size_t transfer_syntax_count;
    void *context;
    SKAssociationPolicy policy;
    SKStoreHandler on_store;
    SKListenerLog log;
} SKListenerParameters;

/** Listens until sk_listener_stop: returns 1 after a clean stop (running associations finished),
 *  0 with `error` when the port cannot be opened. Blocks the calling thread. */
int sk_listen(const SKListenerParameters *parameters, SKError *error);

/** Before sk_listen: a C-STORE that arrives when the store's filesystem has fewer than `bytes`
 *  available (statvfs f_bavail) is read without being written and answered 0xA700 (Refused: Out
 *  of Resources). 0 (the default) turns the check off. A write that fails anyway (the space went
 *  to something else, a file size limit) is answered 0xA700 too, and nothing of it is kept. */
void sk_listener_set_min_free_space(uint64_t bytes);

/** Asks the running sk_listen to stop accepting; it returns within about a second after the
 *  associations already running have ended. Safe from any thread (not from a signal handler). */
void sk_listener_stop(void);

#ifdef __cplusplus
}
#endif
#endif
