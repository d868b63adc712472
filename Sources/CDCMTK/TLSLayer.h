// DICOM TLS for the SCU (Network.cpp) and the SCP (StorageSCP.cpp): DCMTK's DcmTLSTransportLayer
// configured from SKTLSFiles, whose handshakes are bounded in time and explain their failures.
// Internal to CDCMTK (C++ only; the C interface is SKTLSFiles and sk_tls_check in CDCMTKNetwork.h).
#ifndef SONOKIT_TLSLAYER_H
#define SONOKIT_TLSLAYER_H

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmnet/assoc.h"
#include "dcmtk/dcmtls/tlslayer.h"

#include <functional>
#include <memory>
#include <string>

#include "CDCMTKNetwork.h"

namespace sonokit {

/// DcmTLSTransportLayer whose connections (a) bound the TLS handshake to `handshakeSeconds` (a
/// silent peer cannot hold the listener's accepting thread longer), (b) turn a failed handshake
/// into a condition whose text says why in words a user can act on (OpenSSL's reason, the X.509
/// verification error, the subject of the certificate that was refused) and (c) report each
/// handshake, good or failed, to `report` (the listener's log; no patient data passes here).
class TLSLayer : public DcmTLSTransportLayer {
public:
    using Report = std::function<void(const std::string &)>;

    TLSLayer(T_ASC_NetworkRole role, int handshakeSeconds, Report report, std::string caName);

    DcmTransportConnection *createConnection(DcmNativeSocketType openSocket, OFBool useSecureLayer) override;

    const int handshakeSeconds;
    const Report report;
    /// The file name of the trusted CA (for messages), empty when none.
    const std::string caName;
    const T_ASC_NetworkRole role;
    /// A requestor's peer host as the user gave it (a name or an address): the server's
    /// certificate must be issued for it (RFC 6125: a subjectAltName DNS name or IP address, the
    /// subject's CN only when there is no DNS name), and a name is sent as SNI. Empty: no check
    /// (the listener, whose clients are authenticated by their CA alone).
    std::string peerHost;
};

/// Builds the layer for `files` (listener: certificate and key required, `ca` optional = mutual
/// authentication; requestor: `ca` required, certificate and key optional but together). Returns
/// nullptr with `error` naming the file and what is wrong with it.
std::unique_ptr<TLSLayer> makeTLSLayer(const SKTLSFiles &files, bool listener, int handshakeSeconds,
                                       TLSLayer::Report report, std::string &error);

}  // namespace sonokit

#endif
