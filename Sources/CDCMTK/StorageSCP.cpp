// The receiving side of the DICOM upper layer: DCMTK's DcmSCPPool running one DcmThreadSCP per
// association (see include/CDCMTKNetwork.h). No protocol code here: association negotiation,
// PDUs, DIMSE and the bit-preserving receive into a file are DCMTK's; this file only says which
// presentation contexts are offered, who is accepted, and where a received dataset goes.
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmnet/scppool.h"
#include "dcmtk/dcmnet/scpthrd.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <unistd.h>

#include "CDCMTK.h"
#include "CDCMTKNetwork.h"
#include "TLSLayer.h"

namespace {

/// The one running listener's parameters (DcmSCPPool default-constructs its workers, so they find
/// the callbacks here). Set by sk_listen before the pool starts, cleared after it returns.
std::atomic<const SKListenerParameters *> current{nullptr};
/// The running pool, for sk_listener_stop.
std::atomic<DcmBaseSCPPool *> runningPool{nullptr};
std::mutex poolMutex;

void log(const std::string &line) {
    const SKListenerParameters *p = current.load();
    if (p && p->log) p->log(p->context, line.c_str());
}

/// A fresh name for the temporary file of one receive, in the store (same filesystem as the
/// final name, so that the rename is atomic).
std::string temporaryPath(const char *store) {
    static std::mutex mutex;
    static std::mt19937_64 generator{std::random_device{}()};
    std::lock_guard<std::mutex> lock(mutex);
    char name[64];
    std::snprintf(name, sizeof(name), "/.incoming-%016llx.part", static_cast<unsigned long long>(generator()));
    return std::string(store) + name;
}

/// One association: Verification is answered by DcmSCP itself; C-STORE datasets go to a file.
class StorageSCP : public DcmThreadSCP {
protected:
    OFBool checkCallingAETitleAccepted(const OFString &callingAE) override {
        const SKListenerParameters *p = current.load();
        if (!p || !p->policy) return OFTrue;
        const OFString ip = getPeerIP();
        const OFString called = getCalledAETitle();
        return p->policy(p->context, callingAE.c_str(), called.c_str(), ip.c_str()) ? OFTrue : OFFalse;
    }

    OFCondition handleIncomingCommand(T_DIMSE_Message *message, const DcmPresentationContextInfo &info) override {
        if (message->CommandField != DIMSE_C_STORE_RQ) return DcmThreadSCP::handleIncomingCommand(message, info);
        const SKListenerParameters *p = current.load();
        T_DIMSE_C_StoreRQ &request = message->msg.CStoreRQ;
        const std::string temp = temporaryPath(p->store_dir);
        OFCondition status = receiveSTORERequest(request, info.presentationContextID, OFString(temp.c_str()));
        if (status.bad()) {
            // The peer went away or sent something DCMTK could not read: nothing may remain.
            unlink(temp.c_str());
            log(std::string("receive failed (") + status.text() + "); the partial dataset was removed");
            return status;
        }
        const OFString calling = getPeerAETitle();
        const OFString ip = getPeerIP();
        const uint16_t response = p->on_store(p->context, temp.c_str(), request.AffectedSOPClassUID, calling.c_str(), ip.c_str());
        unlink(temp.c_str());  // on_store renamed or removed it; this only guards against a leftover
        return sendSTOREResponse(info.presentationContextID, request, response);
    }

    void notifyAbortRequest() override {
        log("association aborted by " + std::string(getPeerAETitle().c_str()) + " from " + std::string(getPeerIP().c_str()));
    }

    void notifyDIMSEError(const OFCondition &condition) override {
        log(std::string("DIMSE error: ") + condition.text());
    }
};

}  // namespace

extern "C" int sk_listen(const SKListenerParameters *parameters, SKError *error) {
    sk_initialize();
    // As for the SCU (Network.cpp): without TCP_NODELAY every response waits for a delayed ACK.
    setenv("TCP_NODELAY", "1", 0);
    DcmSCPPool<StorageSCP> pool;
    DcmSCPConfig &config = pool.getConfig();
    config.setAETitle(parameters->ae_title);
    config.setPort(parameters->port);
    if (parameters->max_pdu > 0) config.setMaxReceivePDULength(parameters->max_pdu);
    // Non-blocking accept with a 1 s timeout: the pool's loop looks at its stop flag every second.
    config.setConnectionBlockingMode(DUL_NOBLOCK);
    config.setConnectionTimeout(1);
    const Uint32 seconds = static_cast<Uint32>(parameters->timeout_seconds > 0 ? parameters->timeout_seconds : 30);
    config.setACSETimeout(seconds);
    config.setDIMSETimeout(seconds);
    config.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    config.setHostLookupEnabled(OFFalse);
    OFList<OFString> verification;
    verification.push_back(UID_LittleEndianExplicitTransferSyntax);
    verification.push_back(UID_LittleEndianImplicitTransferSyntax);
    verification.push_back(UID_BigEndianExplicitTransferSyntax);
    OFCondition status = config.addPresentationContext(UID_VerificationSOPClass, verification);
    OFList<OFString> syntaxes;
    for (size_t i = 0; i < parameters->transfer_syntax_count; i++) syntaxes.push_back(parameters->transfer_syntaxes[i]);
    for (size_t i = 0; status.good() && i < parameters->sop_class_count; i++) {
        status = config.addPresentationContext(parameters->sop_classes[i], syntaxes);
    }
    if (status.bad()) {
        error->code = SK_ERR_NETWORK;
        std::snprintf(error->message, sizeof(error->message), "cannot configure the presentation contexts: %s", status.text());
        return 0;
    }
    // TLS: the layer lives until the pool has stopped. The pool does the handshake of every
    // accepted connection on its accepting thread, so each is bounded to min(timeout, 10) s.
    std::unique_ptr<sonokit::TLSLayer> tls;
    if (parameters->tls) {
        std::string problem;
        const int handshakeSeconds = static_cast<int>(seconds < 10 ? seconds : 10);
        tls = sonokit::makeTLSLayer(*parameters->tls, true, handshakeSeconds, [parameters](const std::string &line) {
            if (parameters->log) parameters->log(parameters->context, line.c_str());
        }, problem);
        if (!tls) {
            error->code = SK_ERR_NETWORK;
            std::snprintf(error->message, sizeof(error->message), "TLS: %s", problem.c_str());
            return 0;
        }
        config.setTransportLayer(tls.get());
    }
    pool.setMaxThreads(parameters->max_associations > 0 ? parameters->max_associations : 1);
    {
        std::lock_guard<std::mutex> lock(poolMutex);
        current.store(parameters);
        runningPool.store(&pool);
    }
    status = pool.listen();
    {
        std::lock_guard<std::mutex> lock(poolMutex);
        runningPool.store(nullptr);
        current.store(nullptr);
    }
    if (status.bad()) {
        error->code = SK_ERR_NETWORK;
        std::snprintf(error->message, sizeof(error->message), "cannot listen on port %u: %s", parameters->port, status.text());
        return 0;
    }
    return 1;
}

extern "C" void sk_listener_stop(void) {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (DcmBaseSCPPool *pool = runningPool.load()) pool->stopAfterCurrentAssociations();
}
