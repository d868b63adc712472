// Writing DICOM objects with DCMTK's own encoders, in-process (see include/CDCMTKWriter.h).
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcddirif.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcmetinf.h"
#include "dcmtk/dcmdata/dcpath.h"
#include "dcmtk/dcmdata/dcpixel.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcrleerg.h"
#include "dcmtk/dcmdata/dcrlerp.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmjpeg/djencode.h"
#include "dcmtk/dcmjpeg/djrplol.h"
#include "dcmtk/dcmjpeg/djrploss.h"
#include "dcmtk/dcmjpls/djencode.h"
#include "dcmtk/dcmjpls/djrparam.h"

#include <turbojpeg.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "CDCMTKWriter.h"

namespace {

struct StepFailure {
    std::string step;
    std::string message;
};

void require(const OFCondition &status, const std::string &step) {
    if (status.bad()) throw StepFailure{step, status.text()};
}

void fail(SKError *error, const std::string &message) {
    if (!error) return;
    error->code = SK_ERR_WRITE;
    std::snprintf(error->message, sizeof(error->message), "%s", message.c_str());
}

/// The dcmjpeg encoders in one configuration; JPEG encodes hold `jpegLock` from registration to
/// the end of the encode (registration is process-wide).
std::mutex jpegLock;

int jpegConfiguration = -1;
std::once_flag otherEncoders;

void registerJPEG(SKEncoding encoding) {
    // 0: YCbCr 4:2:2 (dcmcjpeg's default), 1: RGB (+cr), 2: YCbCr 4:4:4 (+s4).
    const int configuration = encoding == SK_ENCODE_JPEG_BASELINE_RGB ? 1 : encoding == SK_ENCODE_JPEG_BASELINE_444 ? 2 : 0;
    if (configuration == jpegConfiguration) return;
    if (jpegConfiguration >= 0) DJEncoderRegistration::cleanup();
    DJEncoderRegistration::registerCodecs(configuration == 1 ? ECC_lossyRGB : ECC_lossyYCbCr, EUC_never, OFFalse, 0, 0, 0, OFTrue,
                                          configuration == 2 ? ESS_444 : ESS_422);
    // 4:4:4 keeps registerCodecs' default photometric label YBR_FULL_422 (dcmcjpeg +s4 writes
    // YBR_FULL, which dciodvfy refuses for lossy JPEG); the sampling factors are in the stream.
    jpegConfiguration = configuration;
}

void registerOthers() {
    std::call_once(otherEncoders, [] {
        DJLSEncoderRegistration::registerCodecs(0, 0, 0, 0, OFTrue, 0, OFTrue, EJLSUC_never);
        DcmRLEEncoderRegistration::registerCodecs(OFFalse);
    });
}

void putAttribute(DcmDataset &dataset, const SKWriteAttribute &attribute) {
    const std::string path = attribute.path ? attribute.path : "";
    DcmPathProcessor processor;
    require(processor.findOrCreatePath(&dataset, path.c_str(), OFTrue), "attribute " + path);
    OFList<DcmPath *> results;
    processor.getResults(results);
    if (results.empty() || !results.front()->back() || !results.front()->back()->m_obj) {
        throw StepFailure{"attribute " + path, "DCMTK found no element for the path"};
    }
    DcmObject *object = results.front()->back()->m_obj;
    if (object->isLeaf()) {
        const char *value = attribute.value ? attribute.value : "";
        require(OFstatic_cast(DcmElement *, object)->putString(value), "attribute " + path + " = '" + value + "'");
    }
}

/// A JFIF stream per frame (libjpeg-turbo, 4:2:2, quality 88) as encapsulated pixel data.
void putJFIF(DcmDataset &dataset, const SKWriteObject &object) {
    if (object.bits_allocated != 8 || object.rows <= 0 || object.columns <= 0 || object.frames <= 0
        || object.pixel_data_length != size_t(object.rows) * size_t(object.columns) * 3 * size_t(object.frames)) {
        throw StepFailure{"JFIF pixel data", "needs 8-bit interleaved RGB frames of rows x columns x 3 bytes"};
    }
    tjhandle handle = tjInitCompress();
    if (!handle) throw StepFailure{"JFIF pixel data", "libjpeg-turbo could not start a compressor"};
    DcmPixelSequence *sequence = new DcmPixelSequence(DCM_PixelSequenceTag);
    sequence->insert(new DcmPixelItem(DCM_PixelItemTag));   // empty basic offset table
    const size_t frameBytes = size_t(object.rows) * size_t(object.columns) * 3;
    size_t compressed = 0;
    for (int f = 0; f < object.frames; f++) {
        unsigned char *jpeg = NULL;
        unsigned long size = 0;
        const unsigned char *frame = OFstatic_cast(const unsigned char *, object.pixel_data) + frameBytes * size_t(f);
        if (tjCompress2(handle, frame, object.columns, 0, object.rows, TJPF_RGB, &jpeg, &size, TJSAMP_422, 88, 0) != 0) {
            std::string reason = tjGetErrorStr2(handle);
            tjDestroy(handle);
            delete sequence;
            throw StepFailure{"JFIF pixel data", reason};
        }
        DcmPixelItem *item = new DcmPixelItem(DCM_PixelItemTag);
        // Fragments have an even length (PS3.5 A.4): pad with one zero byte after EOI.
        const unsigned long even = size + (size & 1);
        Uint8 *bytes = NULL;
        OFCondition status = item->createUint8Array(OFstatic_cast(Uint32, even), bytes);
        if (status.good()) {
            std::memcpy(bytes, jpeg, size);
            if (even != size) bytes[size] = 0;
        }
        tjFree(jpeg);
        compressed += even;
        if (status.bad()) { tjDestroy(handle); delete item; delete sequence; require(status, "JFIF pixel data"); }
        sequence->insert(item);
    }
    tjDestroy(handle);
    char ratio[32];
    std::snprintf(ratio, sizeof(ratio), "%.2f", double(frameBytes) * double(object.frames) / double(compressed ? compressed : 1));
    require(dataset.putAndInsertString(DCM_LossyImageCompressionRatio, ratio), "LossyImageCompressionRatio");
    DcmPixelData *pixels = new DcmPixelData(DCM_PixelData);
    pixels->putOriginalRepresentation(EXS_JPEGProcess1, NULL, sequence);
    require(dataset.insert(pixels, OFTrue), "JFIF pixel data");
}

E_TransferSyntax transferSyntax(SKEncoding encoding) {
    switch (encoding) {
    case SK_ENCODE_EXPLICIT_LE: return EXS_LittleEndianExplicit;
    case SK_ENCODE_IMPLICIT_LE: return EXS_LittleEndianImplicit;
    case SK_ENCODE_BIG_ENDIAN: return EXS_BigEndianExplicit;
    case SK_ENCODE_DEFLATE: return EXS_DeflatedLittleEndianExplicit;
    case SK_ENCODE_JPEG_BASELINE:
    case SK_ENCODE_JPEG_BASELINE_RGB:
    case SK_ENCODE_JPEG_BASELINE_444:
    case SK_ENCODE_JFIF_WRAPPED: return EXS_JPEGProcess1;
    case SK_ENCODE_JPEG_EXTENDED: return EXS_JPEGProcess2_4;
    case SK_ENCODE_JPEG_LOSSLESS: return EXS_JPEGProcess14;
    case SK_ENCODE_JPEG_LOSSLESS_SV1: return EXS_JPEGProcess14SV1;
    case SK_ENCODE_RLE: return EXS_RLELossless;
    case SK_ENCODE_JPEG_LS_LOSSLESS: return EXS_JPEGLSLossless;
    case SK_ENCODE_JPEG_LS_NEAR_LOSSLESS: return EXS_JPEGLSLossy;
    }
    throw StepFailure{"encoding", "unknown encoding " + std::to_string(int(encoding))};
}

bool isJPEG(SKEncoding e) {
    return e == SK_ENCODE_JPEG_BASELINE || e == SK_ENCODE_JPEG_BASELINE_RGB || e == SK_ENCODE_JPEG_BASELINE_444
        || e == SK_ENCODE_JPEG_EXTENDED || e == SK_ENCODE_JPEG_LOSSLESS || e == SK_ENCODE_JPEG_LOSSLESS_SV1;
}

/// Encodes the native pixel data of `dataset` into `xfer` with the parameters of dcmcjpeg,
/// dcmcjpls and dcmcrle's defaults.
void encodePixels(DcmDataset &dataset, SKEncoding encoding, E_TransferSyntax xfer) {
    DJ_RPLossy lossy(90);
    DJ_RPLossless lossless(6, 0), losslessSV1(1, 0);
    DJLSRepresentationParameter jlsLossless(2, OFTrue), jlsNear(2, OFFalse);
    DcmRLERepresentationParameter rle;
    DcmRepresentationParameter *parameter = NULL;
    switch (encoding) {
    case SK_ENCODE_JPEG_BASELINE: case SK_ENCODE_JPEG_BASELINE_RGB: case SK_ENCODE_JPEG_BASELINE_444:
    case SK_ENCODE_JPEG_EXTENDED: parameter = &lossy; break;
    case SK_ENCODE_JPEG_LOSSLESS: parameter = &lossless; break;
    case SK_ENCODE_JPEG_LOSSLESS_SV1: parameter = &losslessSV1; break;
    case SK_ENCODE_JPEG_LS_LOSSLESS: parameter = &jlsLossless; break;
    case SK_ENCODE_JPEG_LS_NEAR_LOSSLESS: parameter = &jlsNear; break;
    case SK_ENCODE_RLE: parameter = &rle; break;
    default: return;   // uncompressed: written in `xfer` by saveFile
    }
    require(dataset.chooseRepresentation(xfer, parameter), "encoding the pixel data as " + std::string(DcmXfer(xfer).getXferName()));
    if (!dataset.canWriteXfer(xfer)) {
        throw StepFailure{"encoding the pixel data", std::string("DCMTK cannot write ") + DcmXfer(xfer).getXferName()};
    }
}

/// Makes the pad byte after each fragment's EOI marker 0x00 (PS3.5 A.4). DCMTK 3.6.7's JPEG-LS
/// encoder stores an odd-length bitstream as an odd-length fragment, which DCMTK pads on writing
/// from an uninitialised byte, so the same pixels gave files differing in that one byte from run
/// to run (found by the determinism test).
void zeroFragmentPadding(DcmDataset &dataset, E_TransferSyntax xfer) {
    if (!DcmXfer(xfer).isEncapsulated()) return;
    DcmElement *element = NULL;
    if (dataset.findAndGetElement(DCM_PixelData, element).bad() || !element) return;
    DcmPixelData *pixels = OFstatic_cast(DcmPixelData *, element);
    DcmPixelSequence *sequence = NULL;
    E_TransferSyntax current = EXS_Unknown;
    const DcmRepresentationParameter *parameter = NULL;   // the one the encoder stored (none matches NULL)
    pixels->getCurrentRepresentationKey(current, parameter);
    if (current != xfer) throw StepFailure{"pixel data", "not in the transfer syntax it was encoded to"};
    require(pixels->getEncapsulatedRepresentation(xfer, parameter, sequence), "pixel data fragments");
    if (!sequence) throw StepFailure{"pixel data", "no fragments after encoding"};
    for (unsigned long i = 1; i < sequence->card(); i++) {   // item 0 is the offset table
        DcmPixelItem *item = NULL;
        Uint8 *bytes = NULL;
        if (sequence->getItem(item, i).bad() || !item || item->getUint8Array(bytes).bad() || !bytes) continue;
        const Uint32 length = item->getLength();
        if (length % 2 == 1) {
            // An odd-length fragment is padded by DCMTK when written, from an uninitialised byte:
            // store it padded with 0x00 instead.
            std::vector<Uint8> padded(bytes, bytes + length);
            padded.push_back(0);
            require(item->putUint8Array(padded.data(), length + 1), "padding a pixel data fragment");
        } else if (length >= 3 && bytes[length - 3] == 0xFF && bytes[length - 2] == 0xD9) {
            bytes[length - 1] = 0;
        }
    }
}

void write(const SKWriteObject &object, const char *path) {
    DcmFileFormat file;
    DcmDataset &dataset = *file.getDataset();
    for (size_t i = 0; i < object.attribute_count; i++) putAttribute(dataset, object.attributes[i]);
    const E_TransferSyntax xfer = transferSyntax(object.encoding);
    if (object.pixel_data) {
        if (object.encoding == SK_ENCODE_JFIF_WRAPPED) {
            putJFIF(dataset, object);
        } else if (object.bits_allocated == 16) {
            if (object.pixel_data_length % 2 != 0) throw StepFailure{"pixel data", "odd byte count for 16-bit samples"};
            require(dataset.putAndInsertUint16Array(DCM_PixelData, OFstatic_cast(const Uint16 *, object.pixel_data),
                                                    OFstatic_cast(unsigned long, object.pixel_data_length / 2)), "pixel data");
        } else if (object.bits_allocated == 8) {
            require(dataset.putAndInsertUint8Array(DCM_PixelData, OFstatic_cast(const Uint8 *, object.pixel_data),
                                                   OFstatic_cast(unsigned long, object.pixel_data_length)), "pixel data");
        } else {
            throw StepFailure{"pixel data", "BitsAllocated must be 8 or 16, not " + std::to_string(object.bits_allocated)};
        }
    }
    if (object.pixel_data && object.encoding != SK_ENCODE_JFIF_WRAPPED && isJPEG(object.encoding)) {
        std::lock_guard<std::mutex> guard(jpegLock);
        registerJPEG(object.encoding);
        encodePixels(dataset, object.encoding, xfer);
    } else if (object.pixel_data) {
        registerOthers();
        encodePixels(dataset, object.encoding, xfer);
    }
    if (object.pixel_data) zeroFragmentPadding(dataset, xfer);
    require(file.saveFile(path, xfer, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0, EWM_createNewMeta),
            std::string("saving ") + path);
}

} // namespace

extern "C" int sk_write_object(const SKWriteObject *object, const char *path, SKError *error) {
    sk_initialize();   // DCMTK's logging silenced (SonoKit reports problems itself)
    try {
        write(*object, path);
        return 1;
    } catch (const StepFailure &f) {
        fail(error, f.step + ": " + f.message);
    } catch (const std::exception &e) {
        fail(error, e.what());
    }
    return 0;
}

extern "C" int sk_write_dicomdir(const char *dicomdir_path, const char *root, const char *fileset_id, const char *media_uid,
                                 const char *const *files, size_t file_count, SKError *error) {
    sk_initialize();
    try {
        // An empty DICOMDIR with the deterministic media UID first; appending keeps its file meta.
        {
            DcmFileFormat empty;
            DcmMetaInfo &meta = *empty.getMetaInfo();
            require(meta.putAndInsertString(DCM_MediaStorageSOPClassUID, UID_MediaStorageDirectoryStorage), "DICOMDIR meta");
            require(meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, media_uid), "DICOMDIR meta");
            DcmDataset &ds = *empty.getDataset();
            require(ds.putAndInsertString(DCM_FileSetID, fileset_id), "FileSetID");
            require(ds.putAndInsertUint16(DCM_FileSetConsistencyFlag, 0), "FileSetConsistencyFlag");
            require(ds.insertEmptyElement(DCM_DirectoryRecordSequence), "DirectoryRecordSequence");
            require(empty.saveFile(dicomdir_path, EXS_LittleEndianExplicit, EET_ExplicitLength, EGL_recalcGL, EPD_noChange, 0, 0,
                                   EWM_updateMeta), std::string("saving ") + dicomdir_path);
        }
        DicomDirInterface dicomdir;
        dicomdir.disableBackupMode();
        dicomdir.disableTransferSyntaxCheck();
        dicomdir.enableInventMode();
        require(dicomdir.appendToDicomDir(DicomDirInterface::AP_GeneralPurpose, dicomdir_path), "opening the DICOMDIR");
        for (size_t i = 0; i < file_count; i++) {
            require(dicomdir.addDicomFile(files[i], root), std::string("adding ") + files[i] + " to the DICOMDIR");
        }
        require(dicomdir.writeDicomDir(), "writing the DICOMDIR");
        return 1;
    } catch (const StepFailure &f) {
        fail(error, f.step + ": " + f.message);
    } catch (const std::exception &e) {
        fail(error, e.what());
    }
    return 0;
}
