// The DICOM upper layer through DCMTK's DcmSCU (see include/CDCMTKNetwork.h).
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmnet/diutil.h"
#include "dcmtk/dcmnet/scu.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "CDCMTK.h"
#include "TLSLayer.h"

namespace {

void fail(SKError *error, const std::string &message) {
    if (!error) return;
    error->code = SK_ERR_NETWORK;
    std::snprintf(error->message, sizeof(error->message), "%s", message.c_str());
}

void note(SKStoreOutcome &outcome, const std::string &message) {
    std::snprintf(outcome.message, sizeof(outcome.message), "%s", message.c_str());
}

std::string peerName(const SKAssociationParameters *p) {
    return std::string(p->called_ae ? p->called_ae : "") + "@" + (p->host ? p->host : "") + ":" + std::to_string(p->port);
}

/// DCMTK as Debian builds it leaves Nagle's algorithm on unless the environment variable
/// TCP_NODELAY is set to a non-zero value (dcmnet/libsrc/dulfsm.cc, without
/// DISABLE_NAGLE_ALGORITHM); with it on, every C-STORE waits for the peer's delayed ACK
/// (measured: 58 SampleStudies files to storescp in 3.1 s instead of 0.13 s). Set for the SCU
/// here and for the listener (StorageSCP.cpp), unless the user set it, when the program is loaded:
/// before main, while no other thread exists. (Set later, it raced with the threads that read the
/// environment: glibc's setenv is not safe against a concurrent getenv, and `listen --predict`
/// runs its queue worker, with DCMTK, OpenSSL and oneDNN, while the listener starts.)
__attribute__((constructor)) void disableNagle() { setenv("TCP_NODELAY", "1", 0); }

/// Sets the ends and timeouts of `scu` from `p`.
void configure(DcmSCU &scu, const SKAssociationParameters *p) {
    scu.setAETitle(p->calling_ae ? p->calling_ae : "SONOKIT");
    scu.setPeerAETitle(p->called_ae ? p->called_ae : "");
    scu.setPeerHostName(p->host ? p->host : "");
    scu.setPeerPort(p->port);
    const int seconds = p->timeout_seconds > 0 ? p->timeout_seconds : 30;
    scu.setConnectionTimeout(seconds);
    scu.setACSETimeout(static_cast<Uint32>(seconds));
    scu.setDIMSETimeout(static_cast<Uint32>(seconds));
    scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
    if (p->max_pdu > 0) scu.setMaxReceivePDULength(p->max_pdu);
}

/// DcmSCU with its (protected in DCMTK 3.6.7) switch to a secure transport layer opened up: our
/// own TLSLayer is used instead of the one DcmTLSSCU would build from its settings.
class SCU : public DcmSCU {
public:
    using DcmSCU::useSecureConnection;
};

/// Opens the association (over TLS when `p->tls` is set: `tls` then holds the layer, which must
/// outlive `scu`); on failure fills `error` naming the peer and DCMTK's reason.
bool associate(SCU &scu, const SKAssociationParameters *p, std::unique_ptr<sonokit::TLSLayer> &tls, SKError *error) {
    OFCondition status = scu.initNetwork();
    if (status.bad()) {
        fail(error, "cannot initialise the network: " + std::string(status.text()));
        return false;
    }
    if (p->tls) {
        std::string problem;
        const int seconds = p->timeout_seconds > 0 ? p->timeout_seconds : 30;
        tls = sonokit::makeTLSLayer(*p->tls, false, seconds, nullptr, problem);
        if (!tls) {
            fail(error, "TLS: " + problem);
            return false;
        }
        tls->peerHost = p->host ? p->host : "";
        status = scu.useSecureConnection(tls.get());
        if (status.bad()) {
            fail(error, "TLS: cannot use the TLS layer: " + std::string(status.text()));
            return false;
        }
    }
    status = scu.negotiateAssociation();
    if (status.bad()) {
        std::string text = status.text();
        // With TLS 1.3 the server judges our certificate after our side of the handshake has
        // finished: its refusal shows up as the association request going unanswered.
        const bool droppedAfterHandshake = text.find("TLS handshake") == std::string::npos &&
            (text.find("Peer aborted") != std::string::npos || text.find("closed") != std::string::npos ||
             text.find("reset by peer") != std::string::npos);
        if (p->tls && droppedAfterHandshake)
            text += " (over TLS: the server may have refused our certificate" +
                    std::string(p->tls->certificate && *p->tls->certificate ? ")" : ", or requires one: --tls-cert, --tls-key)");
        fail(error, "association with " + peerName(p) + (p->tls ? " over TLS" : "") + " failed: " + text);
        return false;
    }
    return true;
}

}  // namespace

extern "C" int sk_echo(const SKAssociationParameters *parameters, SKError *error) {
    sk_initialize();  // DCMTK's loggers quiet (dcmnet logs every PDU at INFO otherwise)
    std::unique_ptr<sonokit::TLSLayer> tls;  // outlives scu
    SCU scu;
    configure(scu, parameters);
    OFList<OFString> syntaxes;
    syntaxes.push_back(UID_LittleEndianExplicitTransferSyntax);
    syntaxes.push_back(UID_LittleEndianImplicitTransferSyntax);
    scu.addPresentationContext(UID_VerificationSOPClass, syntaxes);
    if (!associate(scu, parameters, tls, error)) return 0;
    const OFCondition status = scu.sendECHORequest(0);
    if (status.bad()) {
        fail(error, "C-ECHO to " + peerName(parameters) + " failed: " + std::string(status.text()));
        scu.abortAssociation();
        return 0;
    }
    scu.releaseAssociation();
    return 1;
}

extern "C" int sk_store_files(const SKAssociationParameters *parameters, const char *const *paths, size_t count,
                              SKStoreOutcome *outcomes, SKError *error) {
    sk_initialize();
    // What each file is: its SOP class and transfer syntax from the meta header only.
    std::vector<std::pair<std::string, std::string>> kinds(count);
    std::vector<bool> readable(count, false);
    std::set<std::pair<std::string, std::string>> distinct;
    for (size_t i = 0; i < count; i++) {
        outcomes[i].sent = 0;
        outcomes[i].status = 0;
        outcomes[i].message[0] = 0;
        DcmFileFormat file;
        const OFCondition status = file.loadFile(paths[i], EXS_Unknown, EGL_noChange, DCM_MaxReadLength, ERM_metaOnly);
        OFString sopClass, syntax;
        DcmMetaInfo *meta = file.getMetaInfo();
        if (status.bad() || !meta || meta->findAndGetOFString(DCM_MediaStorageSOPClassUID, sopClass).bad() ||
            meta->findAndGetOFString(DCM_TransferSyntaxUID, syntax).bad() || sopClass.empty() || syntax.empty()) {
            note(outcomes[i], std::string("not a DICOM Part 10 file with a SOP class and transfer syntax in its meta header") +
                                  (status.bad() ? std::string(": ") + status.text() : std::string()));
            continue;
        }
        readable[i] = true;
        kinds[i] = {sopClass.c_str(), syntax.c_str()};
        distinct.insert(kinds[i]);
    }
    if (distinct.empty()) {
        fail(error, "none of the files can be sent (no readable DICOM Part 10 file)");
        return 0;
    }
    if (distinct.size() > 128) {
        fail(error, std::to_string(distinct.size()) +
                        " distinct (SOP class, transfer syntax) pairs; one association holds at most 128 (send the files in smaller groups)");
        return 0;
    }
    std::unique_ptr<sonokit::TLSLayer> tls;  // outlives scu
    SCU scu;
    configure(scu, parameters);
    for (const auto &kind : distinct) {
        OFList<OFString> syntaxes;
        syntaxes.push_back(kind.second.c_str());
        scu.addPresentationContext(kind.first.c_str(), syntaxes);
    }
    if (!associate(scu, parameters, tls, error)) {
        for (size_t i = 0; i < count; i++) if (readable[i]) note(outcomes[i], "not sent: the association could not be made");
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        if (!readable[i]) continue;
        const T_ASC_PresentationContextID context = scu.findPresentationContextID(kinds[i].first.c_str(), kinds[i].second.c_str());
        if (context == 0) {
            note(outcomes[i], "the peer did not accept SOP class " + kinds[i].first + " in transfer syntax " + kinds[i].second);
            continue;
        }
        Uint16 response = 0;
        const OFCondition status = scu.sendSTORERequest(context, OFFilename(paths[i]), NULL, response);
        if (status.bad()) {
            fail(error, "C-STORE to " + peerName(parameters) + " failed: " + std::string(status.text()));
            note(outcomes[i], "no C-STORE response: " + std::string(status.text()));
            for (size_t j = i + 1; j < count; j++) if (readable[j]) note(outcomes[j], "not sent: the association broke");
            scu.abortAssociation();
            return 0;
        }
        outcomes[i].sent = 1;
        outcomes[i].status = response;
        if (response != STATUS_Success) {
            char hex[64];
            std::snprintf(hex, sizeof(hex), "C-STORE status 0x%04X", response);
            note(outcomes[i], hex);
        }
    }
    scu.releaseAssociation();
    return 1;
}
