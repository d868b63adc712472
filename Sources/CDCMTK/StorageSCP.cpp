// The receiving side of the DICOM upper layer: DCMTK's DcmBaseSCPPool running one DcmThreadSCP per
// association (see include/CDCMTKNetwork.h). No protocol code here: association negotiation,
// PDUs, DIMSE and the bit-preserving receive into a file are DCMTK's; this file only says which
// presentation contexts are offered, who is accepted, and where a received dataset goes.
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmnet/scppool.h"
#include "dcmtk/dcmnet/scpthrd.h"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <sys/statvfs.h>
#include <thread>
#include <pthread.h>
#include <unistd.h>
#include <vector>

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

/// The reaper of finished worker threads. DcmSCPPool (3.6.7) never joins the thread of an
/// association that ends while it listens (it deletes the worker object only), so each association
/// would leave a joinable, exited thread whose 8 MiB stack mapping stays until the process ends:
/// +8 MiB of address space and some resident stack per association, until the mapping limit
/// (vm.max_map_count) makes thread creation fail and every association is refused. A worker
/// queues its thread here when its association is over; the reaper joins it. The reaper stops
/// before the pool is asked to stop, because the pool then joins the workers still busy itself,
/// and a thread must not be joined twice: a thread the reaper joined left the pool's busy list
/// before it exited (it does so whenever the pool is not shutting down).
std::mutex reaperMutex;
std::condition_variable reaperWake;
std::vector<pthread_t> finishedThreads;
bool reaping = false;
std::thread reaper;

void startReaper() {
    std::lock_guard<std::mutex> lock(reaperMutex);
    finishedThreads.clear();
    reaping = true;
    reaper = std::thread([] {
        std::unique_lock<std::mutex> lock(reaperMutex);
        while (reaping) {
            reaperWake.wait(lock, [] { return !reaping || !finishedThreads.empty(); });
            std::vector<pthread_t> threads;
            threads.swap(finishedThreads);
            lock.unlock();
            for (pthread_t thread : threads) pthread_join(thread, nullptr);
            lock.lock();
        }
    });
}

/// Idempotent. `discardQueued`: after the pool shut down (it joined its busy workers), the queued
/// threads may be among those, so they are left to the process's end, not joined.
void stopReaper(bool discardQueued) {
    std::thread stopping;
    {
        std::lock_guard<std::mutex> lock(reaperMutex);
        reaping = false;
        if (discardQueued) finishedThreads.clear();
        stopping.swap(reaper);
    }
    reaperWake.notify_all();
    if (stopping.joinable()) stopping.join();
}

/// sk_listener_set_min_free_space's value (0: no check).
std::atomic<uint64_t> minFreeBytes{0};

/// The bytes after the file meta information of the Part 10 file at `path` (its size less the
/// 128-byte preamble, "DICM" and the meta group whose length (0002,0000) opens it), or -1 when
/// the file is not that.
long long datasetBytes(const std::string &path) {
    FILE *file = std::fopen(path.c_str(), "rb");
    if (!file) return -1;
    unsigned char head[144];
    const bool read = std::fread(head, 1, sizeof(head), file) == sizeof(head);
    const bool sized = read && std::fseek(file, 0, SEEK_END) == 0;
    const long size = sized ? std::ftell(file) : -1;
    std::fclose(file);
    // "DICM", then (0002,0000) UL, length 4, the group's length.
    static const unsigned char groupLength[8] = {0x02, 0x00, 0x00, 0x00, 'U', 'L', 0x04, 0x00};
    if (size < 0 || std::memcmp(head + 128, "DICM", 4) != 0 || std::memcmp(head + 132, groupLength, 8) != 0) return -1;
    const long long meta = head[140] | head[141] << 8 | head[142] << 16 | static_cast<long long>(head[143]) << 24;
    return size - 144 - meta;
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
public:
    /// One association on this worker thread; then the thread is queued for the reaper (it exits
    /// right after this returns).
    OFCondition run(T_ASC_Association *association) override {
        const OFCondition result = DcmThreadSCP::run(association);
        {
            std::lock_guard<std::mutex> lock(reaperMutex);
            if (reaping) finishedThreads.push_back(pthread_self());
        }
        reaperWake.notify_all();
        return result;
    }

protected:
    OFBool checkCallingAETitleAccepted(const OFString &callingAE) override {
        const SKListenerParameters *p = current.load();
        if (!p || !p->policy) return OFTrue;
        const OFString ip = getPeerIP();
        const OFString called = getCalledAETitle();
        return p->policy(p->context, callingAE.c_str(), called.c_str(), ip.c_str()) ? OFTrue : OFFalse;
    }

    /// What the caller proposed that is not accepted (SOP class, or none of its transfer
    /// syntaxes), one text per abstract syntax; logged once the association is acknowledged (an
    /// association rejected for its caller is logged as that instead).
    std::string refusedContexts;

    void notifyAssociationRequest(const T_ASC_Parameters &params, DcmSCPActionType &desiredAction) override {
        DcmThreadSCP::notifyAssociationRequest(params, desiredAction);
        refusedContexts.clear();
        const SKListenerParameters *p = current.load();
        if (!p) return;
        T_ASC_Parameters *proposed = const_cast<T_ASC_Parameters *>(&params);
        std::set<std::string> refused;
        const int count = ASC_countPresentationContexts(proposed);
        for (int i = 0; i < count; i++) {
            T_ASC_PresentationContext context;
            if (ASC_getPresentationContext(proposed, i, &context).bad()) continue;
            const std::string sopClass = context.abstractSyntax;
            const bool verification = sopClass == UID_VerificationSOPClass;
            bool known = verification;
            for (size_t k = 0; !known && k < p->sop_class_count; k++) known = sopClass == p->sop_classes[k];
            const std::string name = dcmFindNameOfUID(sopClass.c_str(), sopClass.c_str());
            if (!known) { refused.insert(name + ": SOP class not accepted"); continue; }
            bool syntax = false;
            for (int t = 0; !syntax && t < context.transferSyntaxCount; t++) {
                const std::string proposedSyntax = context.proposedTransferSyntaxes[t];
                if (verification) {
                    syntax = proposedSyntax == UID_LittleEndianExplicitTransferSyntax || proposedSyntax == UID_LittleEndianImplicitTransferSyntax
                        || proposedSyntax == UID_BigEndianExplicitTransferSyntax;
                }
                for (size_t k = 0; !syntax && k < p->transfer_syntax_count; k++) syntax = proposedSyntax == p->transfer_syntaxes[k];
            }
            if (!syntax) {
                std::string syntaxes;
                for (int t = 0; t < context.transferSyntaxCount; t++) {
                    syntaxes += std::string(t ? ", " : "") + dcmFindNameOfUID(context.proposedTransferSyntaxes[t], context.proposedTransferSyntaxes[t]);
                }
                refused.insert(name + ": transfer syntax not accepted (" + syntaxes + ")");
            }
        }
        for (const std::string &text : refused) refusedContexts += (refusedContexts.empty() ? "" : "; ") + text;
    }

    void notifyAssociationAcknowledge() override {
        DcmThreadSCP::notifyAssociationAcknowledge();
        if (!refusedContexts.empty()) {
            log("presentation contexts refused to " + std::string(getPeerAETitle().c_str()) + "@" + getPeerIP().c_str() + ": " + refusedContexts);
        }
    }

    /// Dataset bytes received so far in the current C-STORE (DCMTK reports them after each PDV).
    unsigned long received = 0;
    void notifyRECEIVEProgress(const unsigned long byteCount) override { received = byteCount; }

    OFCondition handleIncomingCommand(T_DIMSE_Message *message, const DcmPresentationContextInfo &info) override {
        if (message->CommandField != DIMSE_C_STORE_RQ) return DcmThreadSCP::handleIncomingCommand(message, info);
        const SKListenerParameters *p = current.load();
        T_DIMSE_C_StoreRQ &request = message->msg.CStoreRQ;
        const std::string temp = temporaryPath(p->store_dir);
        struct statvfs space;
        const uint64_t reserve = minFreeBytes.load();
        if (reserve > 0 && statvfs(p->store_dir, &space) == 0 && uint64_t(space.f_bavail) * space.f_frsize < reserve) {
            // Too little room: the dataset is read into /dev/null (through a symbolic link, which
            // is what DCMTK deletes if the receive fails) and refused. Receiving it into the store
            // would fail part-way, and DCMTK 3.6.7 waits for more data (until the DIMSE timeout,
            // then aborts) when the write that fails is the dataset's last.
            const std::string sink = temp + ".discard";
            if (symlink("/dev/null", sink.c_str()) == 0) {
                const OFCondition drained = receiveSTORERequest(request, info.presentationContextID, OFString(sink.c_str()));
                unlink(sink.c_str());
                if (drained.bad()) { log(std::string("receive failed (") + drained.text() + ")"); return drained; }
                log("refused an instance: the store has less than --min-free-space free (status 0xA700)");
                return sendSTOREResponse(info.presentationContextID, request, STATUS_STORE_Refused_OutOfResources);
            }
        }
        received = 0;
        OFCondition status = receiveSTORERequest(request, info.presentationContextID, OFString(temp.c_str()));
        if (status.good() && datasetBytes(temp) != static_cast<long long>(received)) {
            // DCMTK writes through a buffered stream and does not check its close: a write that
            // failed there (disk full) leaves a short file behind a good status. Never indexed.
            status = makeDcmnetCondition(DIMSEC_OUTOFRESOURCES, OF_error, "the file in the store is shorter than the dataset received (disk full?)");
        }
        if (status == DIMSE_OUTOFRESOURCES) {
            // The file could not be created or written (disk full, file size limit): DCMTK read
            // and dropped the rest of the dataset, so the association is intact and the peer gets
            // a failure status for this instance instead of an abort.
            unlink(temp.c_str());
            log(std::string("receive failed (") + status.text() + "); nothing was kept (status 0xA700)");
            return sendSTOREResponse(info.presentationContextID, request, STATUS_STORE_Refused_OutOfResources);
        }
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

/// Worker objects the pool deleted, freed later (see StoragePool::Worker::operator delete).
std::mutex deletedWorkersMutex;
std::vector<void *> deletedWorkers;

/// Frees the deleted workers. Called on the pool's own (listening) thread only, before it creates
/// a worker and after `listen` returned: every worker deleted before this moment was created by an
/// earlier runAssociation of that thread, whose `OFThread::start` has therefore returned.
void freeDeletedWorkers() {
    std::vector<void *> workers;
    {
        std::lock_guard<std::mutex> lock(deletedWorkersMutex);
        workers.swap(deletedWorkers);
    }
    for (void *worker : workers) ::operator delete(worker);
}

/// DCMTK's DcmSCPPool<StorageSCP> with two repairs for DCMTK 3.6.7.
///
/// 1. A worker's memory outlives its thread's start. The pool (in runAssociation, on its listening
///    thread) creates a worker and calls `OFThread::start`, which stores the new thread's ID into
///    the worker after `pthread_create` returns; the worker's thread deletes the worker as soon as
///    its association is over (`notifyThreadExit`). An association that ends before `start`
///    returns (a caller rejected at once, a short C-ECHO, a TCP connection closed without a word such
///    as a port probe, which also gets a worker, any association on a loaded machine)
///    made the pool write 8 bytes into freed memory: valgrind reports "Invalid write of size 8 at
///    OFThread::start ... inside a block of size 112 free'd by notifyThreadExit", and a node
///    under load aborted with "malloc(): unsorted double linked list corrupted". (Upstream DCMTK
///    re-uses workers instead of deleting them since 3.7.0.) Here a deleted worker's
///    memory is kept until the listening thread creates its next worker or stops listening:
///    `Worker::operator delete` only queues it, `freeDeletedWorkers` frees it.
/// 2. A log line for the associations the pool rejects itself because `max_associations` are
///    running (it rejects, then drops them in dropAndDestroyAssociation; it also drops there a
///    request it could not read, which is not logged: the pool is then not full).
///
/// The worker is DcmSCPPool<StorageSCP>'s (private) SCPWorker written out, plus operator delete.
class StoragePool : public DcmBaseSCPPool {
    struct Worker : public DcmBaseSCPWorker, private StorageSCP {
        explicit Worker(DcmBaseSCPPool &pool) : DcmBaseSCPWorker(pool), StorageSCP() {}
        OFCondition setSharedConfig(const DcmSharedSCPConfig &config) override { return StorageSCP::setSharedConfig(config); }
        OFBool busy() override { return StorageSCP::isConnected(); }
        OFCondition workerListen(T_ASC_Association *const association) override { return StorageSCP::run(association); }
        /// The deleting destructor of a worker (the pool's `delete`, on any thread) ends here.
        static void operator delete(void *worker) {
            std::lock_guard<std::mutex> lock(deletedWorkersMutex);
            deletedWorkers.push_back(worker);
        }
    };

protected:
    DcmBaseSCPWorker *createSCPWorker() override {
        freeDeletedWorkers();
        return new Worker(*this);
    }

    void dropAndDestroyAssociation(T_ASC_Association *association) override {
        if (association && association->params && numThreads(OFTrue) >= getMaxThreads()) {
            const DUL_ASSOCIATESERVICEPARAMETERS &p = association->params->DULparams;
            log(std::string("rejected association from ") + OFString(p.callingAPTitle).c_str() + "@" + p.callingPresentationAddress
                + " (called " + p.calledAPTitle + "): " + std::to_string(getMaxThreads())
                + " associations running, the --max-associations limit (A-ASSOCIATE-RJ: local limit exceeded)");
        }
        DcmBaseSCPPool::dropAndDestroyAssociation(association);
    }
};

}  // namespace

extern "C" int sk_listen(const SKListenerParameters *parameters, SKError *error) {
    sk_initialize();
    // TCP_NODELAY is in the environment since the program was loaded (Network.cpp's disableNagle):
    // without it every response waits for a delayed ACK.
    StoragePool pool;
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
    config.setProgressNotificationMode(OFTrue);  // notifyRECEIVEProgress counts the dataset bytes
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
    startReaper();
    status = pool.listen();
    stopReaper(true);  // a no-op after sk_listener_stop; else the pool stopped on an error
    freeDeletedWorkers();  // listen joined and deleted every worker it started
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

extern "C" void sk_listener_set_min_free_space(uint64_t bytes) { minFreeBytes.store(bytes); }

extern "C" void sk_listener_stop(void) {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (DcmBaseSCPPool *pool = runningPool.load()) {
        stopReaper(false);  // before the pool joins its busy workers (see reaper above)
        pool->stopAfterCurrentAssociations();
    }
}
