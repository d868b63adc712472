// DICOM TLS (PS3.15 Annex B) through DCMTK's dcmtls: see TLSLayer.h and CDCMTKNetwork.h. The
// handshake, record layer and certificate verification are OpenSSL's, driven by DCMTK's
// DcmTLSConnection; this file configures the context and words the failures.
#include "TLSLayer.h"

#include "dcmtk/dcmdata/dcerror.h"
#include "dcmtk/dcmtls/tlscond.h"
#include "dcmtk/dcmtls/tlstrans.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "CDCMTK.h"

namespace sonokit {
namespace {

/// The SSL ex_data slot where a connection keeps the subject of the certificate that failed
/// verification (OpenSSL drops the certificate itself when the handshake fails).
int refusedSubjectSlot() {
    static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return slot;
}

std::string oneLineName(X509_NAME *name) {
    if (!name) return "";
    char buffer[512];
    X509_NAME_oneline(name, buffer, sizeof(buffer));
    return buffer;
}

/// Verification callback: OpenSSL's verdict unchanged; on a failure remembers which certificate
/// (its subject) and that it failed, for the log line.
int rememberRefusal(int preverifyOK, X509_STORE_CTX *store) {
    if (!preverifyOK) {
        SSL *ssl = static_cast<SSL *>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
        auto *subject = ssl ? static_cast<std::string *>(SSL_get_ex_data(ssl, refusedSubjectSlot())) : nullptr;
        // The peer's own (leaf) certificate, whichever certificate of its chain failed.
        X509 *leaf = X509_STORE_CTX_get0_cert(store);
        if (!leaf) leaf = X509_STORE_CTX_get_current_cert(store);
        if (subject && subject->empty()) *subject = oneLineName(X509_get_subject_name(leaf));
    }
    return preverifyOK;
}

std::string peerAddress(int socket) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (getpeername(socket, reinterpret_cast<sockaddr *>(&address), &length) != 0) return "an unknown address";
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (address.ss_family == AF_INET) {
        auto *v4 = reinterpret_cast<sockaddr_in *>(&address);
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        port = ntohs(v4->sin_port);
    } else if (address.ss_family == AF_INET6) {
        auto *v6 = reinterpret_cast<sockaddr_in6 *>(&address);
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        port = ntohs(v6->sin6_port);
    }
    return std::string(host) + ":" + std::to_string(port);
}

/// Socket send and receive timeouts set for the handshake and put back afterwards (DCMTK set
/// them from dcmSocketSendTimeout/dcmSocketReceiveTimeout when it made the connection).
class HandshakeDeadline {
public:
    HandshakeDeadline(int socket, int seconds) : socket(socket) {
        socklen_t length = sizeof(savedReceive);
        getsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &savedReceive, &length);
        length = sizeof(savedSend);
        getsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &savedSend, &length);
        timeval limit{seconds, 0};
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    }
    ~HandshakeDeadline() {
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &savedReceive, sizeof(savedReceive));
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &savedSend, sizeof(savedSend));
    }

private:
    int socket;
    timeval savedReceive{0, 0}, savedSend{0, 0};
};

/// DCMTK's TLS connection with a deadline on the handshake and failures in words.
class Connection : public DcmTLSConnection {
public:
    Connection(DcmNativeSocketType socket, SSL *ssl, TLSLayer &layer) : DcmTLSConnection(socket, ssl), socket(socket), ssl(ssl), layer(layer) {
        SSL_set_ex_data(ssl, refusedSubjectSlot(), &refusedSubject);
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(SSL_get_SSL_CTX(ssl)), rememberRefusal);
    }
    ~Connection() override {
        // close() frees the SSL object; until then it points at our string.
        if (ssl && SSL_get_ex_data(ssl, refusedSubjectSlot()) == &refusedSubject) SSL_set_ex_data(ssl, refusedSubjectSlot(), nullptr);
    }

    OFCondition serverSideHandshake() override { return handshake(true); }
    OFCondition clientSideHandshake() override { return handshake(false); }

    void close() override {
        DcmTLSConnection::close();
        ssl = nullptr;
    }

private:
    OFCondition handshake(bool server) {
        const std::string peer = peerAddress(static_cast<int>(socket));
        const auto started = std::chrono::steady_clock::now();
        OFCondition result;
        {
            HandshakeDeadline deadline(static_cast<int>(socket), layer.handshakeSeconds);
            result = server ? DcmTLSConnection::serverSideHandshake() : DcmTLSConnection::clientSideHandshake();
        }
        if (result.good()) {
            if (server && layer.report) {
                std::string line = "TLS from " + peer + ": " + SSL_get_version(ssl) + " " + SSL_get_cipher_name(ssl);
                X509 *certificate = SSL_get1_peer_certificate(ssl);
                if (certificate) {
                    line += ", client certificate " + oneLineName(X509_get_subject_name(certificate)) + " (verified against " + layer.caName + ")";
                    X509_free(certificate);
                } else {
                    line += ", no client certificate asked";
                }
                layer.report(line);
            }
            return result;
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::string reason = explain(result, server, seconds);
        if (server && layer.report) layer.report("TLS handshake with " + peer + " failed, connection closed: " + reason);
        return makeOFCondition(OFM_dcmtls, 2000, OF_error, ("TLS handshake failed: " + reason).c_str());
    }

    /// Why the handshake failed, from DCMTK's condition (OpenSSL's reason), the X.509
    /// verification result and what we saw.
    std::string explain(const OFCondition &condition, bool server, double seconds) {
        const std::string text = condition.text();
        const long verify = SSL_get_verify_result(ssl);
        const std::string them = server ? "the client" : "the server";
        if (verify != X509_V_OK) {
            std::string words = them + "'s certificate " + (refusedSubject.empty() ? std::string() : refusedSubject + " ") +
                                "was not accepted: " + X509_verify_cert_error_string(verify);
            if (verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || verify == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
                verify == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || verify == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
                verify == X509_V_ERR_CERT_SIGNATURE_FAILURE || verify == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE) {
                words += " (it is not signed by the CA of " + layer.caName + ")";
            }
            if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
                words += " (it is not issued for " + layer.peerHost + ": connect by a host name or address its subjectAltName lists)";
            }
            return words;
        }
        if (seconds >= layer.handshakeSeconds - 0.5) {
            return "no complete TLS handshake from " + them + " within " + std::to_string(layer.handshakeSeconds) + " s";
        }
        if (text.find("peer did not return a certificate") != std::string::npos || text.find("certificate required") != std::string::npos) {
            return server ? "the client presented no certificate, and one signed by the CA of " + layer.caName + " is required (mutual authentication)"
                          : "the server requires a client certificate (give --tls-cert and --tls-key) and did not accept the connection: " + text;
        }
        if (text.find("wrong version number") != std::string::npos || text.find("packet length too long") != std::string::npos ||
            text.find("http request") != std::string::npos || text.find("unknown protocol") != std::string::npos ||
            text.find("record layer failure") != std::string::npos) {
            return them + " does not speak TLS (plain DICOM or another protocol?): " + text;
        }
        if (text.find("alert unknown ca") != std::string::npos || text.find("alert bad certificate") != std::string::npos ||
            text.find("alert certificate unknown") != std::string::npos || text.find("alert decrypt error") != std::string::npos) {
            return them + " refused our certificate (" + text + "): it does not trust the CA that signed it";
        }
        if (condition == DCMTLS_EC_OpenSSLIOError || text.find("unexpected eof") != std::string::npos) {
            return them + " closed the connection during the TLS handshake (" +
                   (server ? std::string("a plain DICOM client, or it refused our certificate") : std::string("a plain DICOM server, or it refused us")) + ")";
        }
        return text;
    }

    DcmNativeSocketType socket;
    SSL *ssl;
    TLSLayer &layer;
    std::string refusedSubject;
};

/// A file we are about to hand to OpenSSL: readable, or why not.
bool readable(const char *path, const char *what, std::string &error) {
    FILE *file = std::fopen(path, "rb");
    if (!file) {
        error = std::string(path) + ": cannot read the " + what + ": " + std::strerror(errno);
        return false;
    }
    std::fclose(file);
    return true;
}

/// DCMTK's words for a failed load (it has taken OpenSSL's error off the queue), or OpenSSL's.
std::string reason(const OFCondition &status) {
    ERR_clear_error();
    const std::string text = status.text();
    if (text.find("too small") != std::string::npos || text.find("too weak") != std::string::npos)
        return text + " (SonoKit uses OpenSSL security level 2: RSA keys of 2048 bits or more, SHA-256 or better signatures)";
    return text.empty() ? "not a PEM file OpenSSL can read" : text;
}

std::string openSSLReason() {
    const unsigned long code = ERR_peek_last_error();
    const char *reason = code ? ERR_reason_error_string(code) : nullptr;
    ERR_clear_error();
    return reason ? reason : "not a PEM file OpenSSL can read";
}

}  // namespace

TLSLayer::TLSLayer(T_ASC_NetworkRole role, int handshakeSeconds, Report report, std::string caName)
    : DcmTLSTransportLayer(role, nullptr, OFFalse), handshakeSeconds(handshakeSeconds > 0 ? handshakeSeconds : 10),
      report(std::move(report)), caName(std::move(caName)), role(role) {}

DcmTransportConnection *TLSLayer::createConnection(DcmNativeSocketType openSocket, OFBool useSecureLayer) {
    if (!useSecureLayer) return DcmTLSTransportLayer::createConnection(openSocket, useSecureLayer);
    SSL *ssl = SSL_new(getNativeHandle());
    if (!ssl) return nullptr;
    SSL_set_fd(ssl, static_cast<int>(openSocket));
    if (role == NET_REQUESTOR && !peerHost.empty()) {
        // OpenSSL 3 takes an address as an IP address to match and a name as a DNS name.
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        unsigned char address[sizeof(in6_addr)];
        const bool isAddress = inet_pton(AF_INET, peerHost.c_str(), address) == 1 || inet_pton(AF_INET6, peerHost.c_str(), address) == 1;
        if (SSL_set1_host(ssl, peerHost.c_str()) != 1 || (!isAddress && SSL_set_tlsext_host_name(ssl, peerHost.c_str()) != 1)) {
            SSL_free(ssl);
            return nullptr;
        }
    }
    return new Connection(openSocket, ssl, *this);
}

std::unique_ptr<TLSLayer> makeTLSLayer(const SKTLSFiles &files, bool listener, int handshakeSeconds, TLSLayer::Report report,
                                       std::string &error) {
    static std::once_flag once;
    std::call_once(once, [] { DcmTLSTransportLayer::initializeOpenSSL(); });
    const bool hasCertificate = files.certificate && *files.certificate, hasKey = files.private_key && *files.private_key;
    const bool hasCA = files.ca && *files.ca;
    if (hasCertificate != hasKey) {
        error = hasCertificate ? std::string(files.certificate) + ": a certificate without its private key (give both, or neither)"
                               : std::string(files.private_key) + ": a private key without its certificate (give both, or neither)";
        return nullptr;
    }
    if (listener && !hasCertificate) {
        error = "a TLS listener needs its certificate and private key";
        return nullptr;
    }
    if (!listener && !hasCA) {
        error = "TLS without a CA certificate to verify the server against is refused (never an unverified connection)";
        return nullptr;
    }
    if (hasCertificate && !readable(files.certificate, "certificate", error)) return nullptr;
    if (hasKey && !readable(files.private_key, "private key", error)) return nullptr;
    if (hasCA && !readable(files.ca, "CA certificate", error)) return nullptr;

    auto layer = std::make_unique<TLSLayer>(listener ? NET_ACCEPTOR : NET_REQUESTOR, handshakeSeconds, std::move(report),
                                            hasCA ? std::string(files.ca) : std::string());
    if (!*layer) {
        error = "cannot create the TLS context: " + openSSLReason();
        return nullptr;
    }
    // DCMTK lowers OpenSSL's security level to 0 (for the retired NULL-cipher profile, unused here):
    // level 2 refuses RSA/DH keys under 2048 bits and SHA-1 certificate signatures again (set before
    // the files are loaded, which checks our own certificate too).
    SSL_CTX_set_security_level(layer->getNativeHandle(), 2);
    // An encrypted key is refused rather than prompted for (a service has no terminal).
    layer->setPrivateKeyPasswd("");
    if (hasCertificate) {
        OFCondition status = layer->setCertificateFile(files.certificate, DCF_Filetype_PEM);
        if (status.bad()) {
            error = std::string(files.certificate) + ": not a usable PEM certificate: " + reason(status);
            return nullptr;
        }
        status = layer->setPrivateKeyFile(files.private_key, DCF_Filetype_PEM);
        if (status.bad() && std::string(status.text()).find("key values mismatch") != std::string::npos) {
            error = std::string(files.private_key) + ": this private key does not belong to the certificate " + files.certificate;
            return nullptr;
        }
        if (status.bad()) {
            error = std::string(files.private_key) + ": not a usable PEM private key (unencrypted): " + reason(status);
            return nullptr;
        }
        if (!layer->checkPrivateKeyMatchesCertificate()) {
            ERR_clear_error();
            error = std::string(files.private_key) + ": this private key does not belong to the certificate " + files.certificate;
            return nullptr;
        }
    }
    if (hasCA) {
        const OFCondition status = layer->addTrustedCertificateFile(files.ca, DCF_Filetype_PEM);
        if (status.bad()) {
            error = std::string(files.ca) + ": not a PEM file with CA certificates: " + reason(status);
            return nullptr;
        }
        // A server names the CA it trusts in its certificate request (clients pick the right certificate).
        if (listener) layer->addTrustedClientCertificateFile(files.ca);
    }
    if (layer->setTLSProfile(TSP_Profile_BCP195_ND).bad() || layer->activateCipherSuites().bad()) {
        error = "cannot set DCMTK's Non-downgrading BCP 195 TLS profile: " + openSSLReason();
        return nullptr;
    }
    layer->setCertificateVerification(listener ? (hasCA ? DCV_requireCertificate : DCV_ignoreCertificate) : DCV_requireCertificate);
    return layer;
}

}  // namespace sonokit

extern "C" int sk_tls_check(const SKTLSFiles *files, int listener, SKError *error) {
    sk_initialize();
    std::string message;
    auto layer = files ? sonokit::makeTLSLayer(*files, listener != 0, 10, nullptr, message) : nullptr;
    if (layer) return 1;
    if (error) {
        error->code = SK_ERR_NETWORK;
        std::snprintf(error->message, sizeof(error->message), "%s", files ? message.c_str() : "no TLS files");
    }
    return 0;
}
