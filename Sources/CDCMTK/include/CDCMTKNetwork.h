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

/** DICOM TLS (PS3.15 Annex B secure transport) through DCMTK's dcmtls with OpenSSL: PEM files only,
 *  DCMTK's Non-downgrading BCP 195 profile (TLS 1.2 or 1.3, the four ECDHE/DHE AES-GCM suites),
 *  OpenSSL security level 2 (RSA/DH keys of 2048 bits or more, no SHA-1 signatures).
 *  A listener needs `certificate` and `private_key`; with `ca` it demands a client certificate
 *  that chains to it (mutual authentication), without it it asks for none. A requestor needs `ca`
 *  (the server's certificate must chain to it: never an unverified connection); `certificate` and
 *  `private_key` (together) authenticate us to a server that asks. The host name is not checked
 *  against the certificate (as DCMTK's own tools): trust is "signed by this CA". */
typedef struct {
    const char *certificate;  /* PEM: our certificate (optionally followed by its chain), or NULL */
    const char *private_key;  /* PEM: its private key, unencrypted, or NULL */
    const char *ca;           /* PEM: the CA certificate(s) the peer's certificate must chain to, or NULL */
} SKTLSFiles;

/** Loads `files` as a listener (`listener` = 1) or a requestor would and checks them: each file
 *  readable and PEM, the key matching the certificate, the combination allowed for the role.
 *  Returns 1, or 0 with `error` naming the file and what is wrong. Nothing is opened on the network. */
int sk_tls_check(const SKTLSFiles *files, int listener, SKError *error);

/** The two ends of an association and its timeouts. */
typedef struct {
    const char *calling_ae;   /* our AE title (1-16 characters) */
    const char *called_ae;    /* the peer's AE title */
    const char *host;         /* the peer's host name or address */
    uint16_t port;
    int timeout_seconds;      /* TCP connect, ACSE and DIMSE timeout (> 0) */
    uint32_t max_pdu;         /* largest PDU we receive (DCMTK's default 16384 when 0) */
    const SKTLSFiles *tls;    /* NULL: plain TCP; else TLS (`ca` required; see SKTLSFiles). A TLS failure
                                 (the server's certificate not signed by `ca`, no common suite, a plain
                                 server) is an association error saying so. */
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
    const SKTLSFiles *tls;         /* NULL: plain TCP; else TLS only (see SKTLSFiles). The handshake runs on
                                      the accepting thread before the association request is read, bounded
                                      by min(timeout_seconds, 10) s; a failed one (no or untrusted client
                                      certificate, a plain DICOM client) is logged (peer address, reason,
                                      the certificate's subject when one was shown) and the connection closed.
                                      The policy still applies to the associations of a good handshake. */
} SKListenerParameters;

/** Listens until sk_listener_stop: returns 1 after a clean stop (running associations finished),
 *  0 with `error` when the port cannot be opened or the TLS files cannot be used (checked before
 *  listening, as sk_tls_check). Blocks the calling thread. */
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
