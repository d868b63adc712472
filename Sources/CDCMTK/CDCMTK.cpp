// The C surface over DCMTK declared in include/CDCMTK.h. Keep this file small: it translates,
// Swift decides.
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmdata/dcrledrg.h"
#include "dcmtk/dcmdata/dcxfer.h"
#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcistrmf.h"
#include "dcmtk/dcmimgle/dcmimage.h"
#include "dcmtk/dcmimage/diregist.h"   // registers the colour image classes with dcmimgle
#include "dcmtk/dcmjpeg/djdecode.h"
#include "dcmtk/dcmjpls/djdecode.h"
#include "dcmtk/oflog/oflog.h"

#include "CDCMTK.h"
#include "FastJPEG.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

struct SKFile {
    DcmFileFormat format;
    std::string path;
    std::string originalTransferSyntax;
    FastJPEGDecoder fastJPEG;   // libjpeg-turbo for JPEG baseline colour frames (FastJPEG.h)
    bool jpegFragmentsChecked = false;
    std::string jpegFragmentDamage;   // non-empty: DCMTK must not be given this file's JPEG data
};

namespace {

/// True when DCMTK 3.6.7's `DJCodecDecoder::scanJpegDataForBitDepth` would never return on this
/// fragment. That scan walks the markers before the frame header and advances by each marker's
/// length, except at TEM (FF01), where it does not advance at all: a fragment with FF01 before its
/// SOF marker makes every decode of the file spin forever (found by fuzzing,
/// Tests/DICOMTests/Fixtures/fuzz-regressions/jpeg-scan-hang.dcm). This replays the scan's
/// steps exactly (the same marker table, the same lengths) and reports that one case; every other
/// step advances, so the replay ends.
bool jpegBitDepthScanWouldNotEnd(const Uint8 *data, Uint32 length) {
    if (!data) return false;
    auto word = [&](Uint32 at) { return static_cast<Uint16>((data[at] << 8) | data[at + 1]); };
    Uint32 offset = 0;
    while (offset + 4 < length) {
        const Uint16 marker = word(offset);
        if ((marker >= 0xffc0 && marker <= 0xffcf && marker != 0xffc4 && marker != 0xffc8 && marker != 0xffcc)) return false;  // SOFn: the scan returns
        if (marker == 0xff01) return true;                                    // TEM: the scan stops advancing
        if (marker == 0xffff) { offset += 1; continue; }                      // fill byte
        if ((marker >= 0xffd0 && marker <= 0xffd9)) { offset += 2; continue; } // RSTm, SOI, EOI
        if (marker == 0xffc4 || marker == 0xffcc || (marker >= 0xffda && marker <= 0xfffe)) {
            offset += static_cast<Uint32>(word(offset + 2)) + 2;                // segments with a length
            continue;
        }
        if (data[offset] == 0xff && data[offset + 1] > 2 && data[offset + 1] <= 0xbf) { offset += 2; continue; }  // reserved
        return false;                                                         // invalid marker: the scan gives up
    }
    return false;
}

/// Checks every fragment of a JPEG-encoded file once (`jpegBitDepthScanWouldNotEnd`), releasing
/// each fragment's bytes again after the check (they are reloaded from the file on demand).
void checkJPEGFragments(SKFile *file, DcmDataset *dataset, E_TransferSyntax xfer, DcmElement *pixelElement) {
    if (file->jpegFragmentsChecked) return;
    file->jpegFragmentsChecked = true;
    const std::string uid = DcmXfer(xfer).getXferID();
    const bool jpeg = uid.rfind("1.2.840.10008.1.2.4.5", 0) == 0 || uid == "1.2.840.10008.1.2.4.70";
    if (!jpeg || !pixelElement) return;
    DcmPixelSequence *sequence = nullptr;
    if (OFstatic_cast(DcmPixelData *, pixelElement)->getEncapsulatedRepresentation(xfer, nullptr, sequence).bad() || !sequence) return;
    for (unsigned long i = 1; i < sequence->card(); ++i) {
        DcmPixelItem *item = nullptr;
        Uint8 *bytes = nullptr;
        if (sequence->getItem(item, i).bad() || !item || item->getUint8Array(bytes).bad()) continue;
        const bool hangs = jpegBitDepthScanWouldNotEnd(bytes, item->getLength());
        item->compact();
        if (hangs) {
            file->jpegFragmentDamage = "damaged JPEG data: fragment " + std::to_string(i) +
                " has a TEM marker (FF01) before its frame header, on which DCMTK's JPEG decoder never ends; "
                "re-export the file";
            return;
        }
    }
    (void)dataset;
}

/// The deepest nesting of sequences a file may have. DCMTK 3.6.7 parses nested sequences by
/// recursion, and its time grows with the square of the depth: measured with `dcmdump` on files of
/// nested undefined-length (0008,1115) items, 1,000 levels take 1.9 s, 3,000 take 9.7 s, 5,000 more
/// than 20 s, and 10,000 overflow an 8 MiB stack (the process dies). Real objects nest a few levels
/// (an SR content tree, the deepest kind, tens).
constexpr int maximumSequenceDepth = 128;

/// Reads the element structure of a file the way DCMTK's parser frames it (tag, VR through
/// `DcmVR` and its 2- or 4-byte length, the dictionary's VR for implicit VR, items and delimiters,
/// encapsulated pixel fragments skipped by their length), without building anything and without
/// recursion: one pass, one frame per open sequence or item on an explicit stack, values skipped
/// (inflated first for the deflate transfer syntax, as DCMTK would). It answers one question before
/// DCMTK parses the file: are sequences nested deeper than `maximumSequenceDepth`? Anything it
/// cannot follow (a short read, a length past the end) ends the walk with the depth seen so far;
/// DCMTK then decides what the file is.
class SequenceDepthScanner {
public:
    explicit SequenceDepthScanner(const char *path) : stream_(OFFilename(path)), path_(path) {}

    /// The byte offset (in the dataset, after inflation) where the nesting first exceeds
    /// `maximumSequenceDepth`, or -1 when it never does.
    long long tooDeepAt() {
        if (!stream_.good()) return -1;
        unsigned char head[132];
        if (!read(head, 132)) return -1;
        bool explicitVR = true, bigEndian = false, deflated = false;
        uint64_t start = 0;   // bytes of the file before the element we look at next
        if (std::memcmp(head + 128, "DICM", 4) == 0) {
            start = 132;
        } else {
            // No preamble (ACR-NEMA style): a dataset from byte 0, its encoding guessed as
            // sk_looks_like_dicom guesses it (a meta group without a preamble: not followed).
            const unsigned groupLE = head[0] | (head[1] << 8), groupBE = (head[0] << 8) | head[1];
            if (groupLE == 0x0002) return -1;
            bigEndian = groupBE == 0x0008 && groupLE != 0x0008;
            explicitVR = head[4] >= 'A' && head[4] <= 'Z' && head[5] >= 'A' && head[5] <= 'Z';
            DcmInputFileStream dataset{OFFilename(path_)};
            if (!dataset.good()) return -1;
            return walk(dataset, false, explicitVR, bigEndian);
        }
        // The meta header: explicit VR little endian, group 0002.
        std::string syntax;
        unsigned char tag[8];
        while (true) {
            if (!read(tag, 6)) return -1;
            start += 6;
            const uint16_t group = tag[0] | (tag[1] << 8), element = tag[2] | (tag[3] << 8);
            if (group != 0x0002) {
                // The first dataset element: its 6 bytes are already read, hand them to the walk.
                std::memcpy(pending_, tag, 6);
                pendingCount_ = 6;
                break;
            }
            const char vr[3] = {char(tag[4]), char(tag[5]), 0};
            uint32_t length;
            if (DcmVR(vr).usesExtendedLengthEncoding()) {
                if (!read(tag, 6)) return -1;
                start += 6;
                length = tag[2] | (tag[3] << 8) | (tag[4] << 16) | (uint32_t(tag[5]) << 24);
            } else {
                if (!read(tag, 2)) return -1;
                start += 2;
                length = tag[0] | (tag[1] << 8);
            }
            if (length == 0xffffffffu) return -1;
            if (element == 0x0010 && length < 128) {
                char value[129] = {0};
                if (!read(value, length)) return -1;
                syntax.assign(value, std::strlen(value));
                while (!syntax.empty() && (syntax.back() == ' ' || syntax.back() == '\0')) syntax.pop_back();
            } else if (!skip(length)) {
                return -1;
            }
            start += length;
        }
        const E_TransferSyntax xfer = DcmXfer(syntax.c_str()).getXfer();
        if (xfer == EXS_LittleEndianImplicit) explicitVR = false;
        if (xfer == EXS_BigEndianExplicit) bigEndian = true;
        if (xfer == EXS_DeflatedLittleEndianExplicit) deflated = true;
        if (deflated) {
            // The 6 bytes already read are deflate data: put them back by reopening at the dataset.
            DcmInputFileStream inflated{OFFilename(path_), static_cast<offile_off_t>(start - 6)};
            if (!inflated.good() || inflated.installCompressionFilter(ESC_zlib).bad()) return -1;
            return walk(inflated, /*pending*/ false, explicitVR, bigEndian);
        }
        return walk(stream_, true, explicitVR, bigEndian);
    }

private:
    struct Frame {
        bool undefinedLength;
        uint64_t end;          // offset just past the value, when the length is defined
        bool item;             // an item (a dataset) rather than a sequence (a list of items)
        bool implicitVR;       // encoding of the elements inside
        bool fragments;        // encapsulated pixel data: its items are raw bytes
    };

    bool readFrom(DcmInputStream &in, void *buffer, uint64_t count) {
        auto *bytes = static_cast<unsigned char *>(buffer);
        uint64_t done = 0;
        while (done < count) {
            if (&in == &stream_ && pendingCount_ > 0) {
                const uint64_t n = std::min<uint64_t>(pendingCount_, count - done);
                std::memcpy(bytes + done, pending_ + pendingUsed_, n);
                pendingUsed_ += n; pendingCount_ -= n; done += n;
                continue;
            }
            if (in.eos() || !in.good()) return false;
            const offile_off_t n = in.read(bytes + done, static_cast<offile_off_t>(count - done));
            if (n <= 0) return false;
            done += static_cast<uint64_t>(n);
        }
        return true;
    }
    bool read(void *buffer, uint64_t count) { return readFrom(stream_, buffer, count); }
    bool skipIn(DcmInputStream &in, uint64_t count) {
        while (count > 0) {
            if (in.eos() || !in.good()) return false;
            const offile_off_t step = static_cast<offile_off_t>(std::min<uint64_t>(count, uint64_t(1) << 30));
            const offile_off_t n = in.skip(step);
            if (n <= 0) return false;
            count -= static_cast<uint64_t>(n);
        }
        return true;
    }
    bool skip(uint64_t count) { return skipIn(stream_, count); }

    long long walk(DcmInputStream &in, bool usePending, bool explicitVR, bool bigEndian) {
        if (!usePending) pendingCount_ = 0;
        auto u16 = [&](const unsigned char *p) { return bigEndian ? uint16_t((p[0] << 8) | p[1]) : uint16_t(p[0] | (p[1] << 8)); };
        auto u32 = [&](const unsigned char *p) {
            return bigEndian ? (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]
                             : uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
        };
        std::vector<Frame> stack;
        int sequences = 0;
        uint64_t position = 0;
        auto pop = [&] { if (!stack.back().item) --sequences; stack.pop_back(); };
        unsigned char b[8];
        while (true) {
            while (!stack.empty() && !stack.back().undefinedLength && position >= stack.back().end) pop();
            if (!readFrom(in, b, 4)) return -1;
            position += 4;
            const uint16_t group = u16(b), element = u16(b + 2);
            const bool implicitHere = stack.empty() ? !explicitVR : stack.back().implicitVR;
            if (group == 0xfffe) {   // items and delimiters: always a 4-byte length, never a VR
                if (!readFrom(in, b, 4)) return -1;
                position += 4;
                const uint32_t length = u32(b);
                const bool undefined = length == 0xffffffffu;
                if (element == 0xe000 && !(stack.empty() || stack.back().fragments)) {
                    stack.push_back({undefined, position + (undefined ? 0 : length), true, implicitHere, false});
                    // Items directly in items (not valid DICOM) nest without a sequence: bounded too.
                    if (stack.size() > 2 * maximumSequenceDepth + 2) return static_cast<long long>(position);
                } else if (element == 0xe00d) {
                    while (!stack.empty() && !(stack.back().item && stack.back().undefinedLength)) pop();
                    if (!stack.empty()) pop();
                } else if (element == 0xe0dd) {
                    while (!stack.empty() && !(!stack.back().item && stack.back().undefinedLength)) pop();
                    if (!stack.empty()) pop();
                } else {
                    if (undefined || !skipIn(in, length)) return -1;
                    position += length;
                }
                continue;
            }
            uint32_t length;
            DcmEVR evr;
            if (implicitHere) {
                if (!readFrom(in, b, 4)) return -1;
                position += 4;
                length = u32(b);
                evr = DcmTag(group, element).getEVR();
            } else {
                if (!readFrom(in, b, 2)) return -1;
                position += 2;
                const char vr[3] = {char(b[0]), char(b[1]), 0};
                DcmVR dcmvr(vr);
                evr = dcmvr.getEVR();
                if (dcmvr.usesExtendedLengthEncoding()) {
                    if (!readFrom(in, b, 6)) return -1;
                    position += 6;
                    length = u32(b + 2);
                } else {
                    if (!readFrom(in, b, 2)) return -1;
                    position += 2;
                    length = u16(b);
                }
            }
            const bool undefined = length == 0xffffffffu;
            if (undefined || evr == EVR_SQ) {
                const bool fragments = group == 0x7fe0 && element == 0x0010;
                // An undefined-length UN holds implicit VR little endian data (as DCMTK reads it).
                const bool implicitInside = implicitHere || (evr == EVR_UN && undefined);
                stack.push_back({undefined, position + (undefined ? 0 : length), false, implicitInside, fragments});
                if (!fragments && ++sequences > maximumSequenceDepth) return static_cast<long long>(position);
                continue;
            }
            if (!skipIn(in, length)) return -1;
            position += length;
        }
    }

    DcmInputFileStream stream_;
    std::string path_;
    unsigned char pending_[8] = {0};
    uint64_t pendingCount_ = 0, pendingUsed_ = 0;
};

/// Why the RLE header at the start of a frame's `size` bytes cannot be followed (empty: it can).
std::string rleHeaderDamage(const uint8_t *data, size_t size) {
    if (size < 64) return "the frame is " + std::to_string(size) + " bytes, shorter than its 64-byte RLE header";
    auto word = [&](int i) {
        return uint32_t(data[4 * i]) | (uint32_t(data[4 * i + 1]) << 8) | (uint32_t(data[4 * i + 2]) << 16) | (uint32_t(data[4 * i + 3]) << 24);
    };
    const uint32_t segments = word(0);
    if (segments < 1 || segments > 15) return "the RLE header declares " + std::to_string(segments) + " segments (1 to 15 allowed)";
    uint64_t previous = 0;
    for (uint32_t i = 1; i <= segments; ++i) {
        const uint64_t offset = word(static_cast<int>(i));
        if (offset < 64 || offset <= previous || offset >= size) {
            return "segment " + std::to_string(i) + " starts at byte " + std::to_string(offset) + " of a " + std::to_string(size) +
                   "-byte frame (" + (offset >= size ? "past its end" : offset < 64 ? "inside the header" : "before the segment ahead of it") + ")";
        }
        previous = offset;
    }
    return "";
}

void setError(SKError *error, SKErrorCode code, const std::string &message) {
    if (!error) return;
    error->code = code;
    std::snprintf(error->message, sizeof error->message, "%s", message.c_str());
}

/// Copies `value` into a C buffer, truncating; returns the full length.
long copyOut(const OFString &value, char *buffer, size_t capacity) {
    if (buffer && capacity > 0) {
        std::snprintf(buffer, capacity, "%s", value.c_str());
    }
    return static_cast<long>(value.length());
}

DcmItem *itemFor(SKFile *file, uint16_t group) {
    if (group == 0x0002) return file->format.getMetaInfo();
    return file->format.getDataset();
}

/// Reads component `position` of a numeric element of any numeric VR as a double.
int numberOf(DcmElement *element, unsigned long position, double *value) {
    if (!element || position >= element->getVM()) return 0;
    OFCondition status;
    switch (element->ident()) {
    case EVR_US: { Uint16 v; status = element->getUint16(v, position); *value = v; break; }
    case EVR_SS: { Sint16 v; status = element->getSint16(v, position); *value = v; break; }
    case EVR_UL: { Uint32 v; status = element->getUint32(v, position); *value = v; break; }
    case EVR_SL: { Sint32 v; status = element->getSint32(v, position); *value = v; break; }
    case EVR_FL: { Float32 v; status = element->getFloat32(v, position); *value = v; break; }
    case EVR_FD: { Float64 v; status = element->getFloat64(v, position); *value = v; break; }
    case EVR_DS: { Float64 v; status = OFstatic_cast(DcmDecimalString *, element)->getFloat64(v, position); *value = v; break; }
    case EVR_IS: { Sint32 v; status = OFstatic_cast(DcmIntegerString *, element)->getSint32(v, position); *value = v; break; }
    default: return 0;
    }
    return status.good() ? 1 : 0;
}

/// Element `tag` directly inside `item`, or NULL.
DcmElement *elementIn(DcmItem *item, const DcmTagKey &tag) {
    if (!item) return nullptr;
    DcmElement *element = nullptr;
    if (item->findAndGetElement(tag, element, OFFalse /* not deep */).bad()) return nullptr;
    return element;
}

DcmItem *sequenceItem(SKFile *file, uint16_t seqGroup, uint16_t seqElement, unsigned long index) {
    DcmItem *item = nullptr;
    if (file->format.getDataset()->findAndGetSequenceItem(DcmTagKey(seqGroup, seqElement), item,
                                                          OFstatic_cast(signed long, index)).bad())
        return nullptr;
    return item;
}

bool isTruncation(const OFCondition &status) {
    return status == EC_StreamNotifyClient || status == EC_PrematureSequDelimitationItem ||
           status == EC_SequEnd || status == EC_ItemEnd || status == EC_InvalidStream ||
           status == EC_CorruptedData;
}

}  // namespace

extern "C" {

void sk_initialize(void) {
    static std::once_flag once;
    std::call_once(once, [] {
        // DCMTK logs warnings to stderr by default; SonoKit reports problems itself.
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
        // EDC_photometricInterpretation: the JPEG decoder converts YBR to RGB exactly when the
        // file says the data is YBR, and updates the photometric interpretation it reports.
        DJDecoderRegistration::registerCodecs(EDC_photometricInterpretation);
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

int sk_looks_like_dicom(const char *path) {
    FILE *f = std::fopen(path, "rb");
    if (!f) return 0;
    unsigned char head[132];
    size_t n = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    if (n == 132 && std::memcmp(head + 128, "DICM", 4) == 0) return 1;
    // A dataset without the Part 10 preamble (ACR-NEMA style): it starts with an element of
    // group 0002 or 0008 (little or big endian) followed by a plausible VR or length.
    if (n >= 8) {
        unsigned groupLE = head[0] | (head[1] << 8), groupBE = (head[0] << 8) | head[1];
        bool group = groupLE == 0x0002 || groupLE == 0x0008 || groupBE == 0x0008;
        bool vr = head[4] >= 'A' && head[4] <= 'Z' && head[5] >= 'A' && head[5] <= 'Z';
        unsigned long implicitLength = head[4] | (head[5] << 8) | (head[6] << 16) | ((unsigned long)head[7] << 24);
        if (group && (vr || implicitLength < 1024)) return 1;
    }
    return 0;
}

static SKFile *openUnguarded(const char *path, SKError *error) {
    sk_initialize();
    if (!sk_looks_like_dicom(path)) {
        FILE *f = std::fopen(path, "rb");
        if (!f) {
            setError(error, SK_ERR_UNREADABLE, std::string("cannot open the file: ") + std::strerror(errno));
            return nullptr;
        }
        std::fclose(f);
        setError(error, SK_ERR_NOT_DICOM, "no DICOM preamble (\"DICM\" at byte 128) and no DICOM element at the start");
        return nullptr;
    }
    const long long tooDeep = SequenceDepthScanner(path).tooDeepAt();
    if (tooDeep >= 0) {
        setError(error, SK_ERR_UNREADABLE, "sequences nested more than " + std::to_string(maximumSequenceDepth) +
                 " levels deep (at byte " + std::to_string(tooDeep) + " of the data set): DCMTK's parser would exhaust its "
                 "stack on it; the file is damaged or hostile");
        return nullptr;
    }
    SKFile *file = new SKFile();
    file->path = path;
    // Values longer than 4 KiB (pixel data) stay on disk and are read when a frame is decoded.
    OFCondition status;
    try {
        status = file->format.loadFile(path, EXS_Unknown, EGL_noChange, 4096, ERM_autoDetect);
    } catch (...) {
        delete file;   // the caller (sk_open) turns the exception into a typed error
        throw;
    }
    if (status.bad()) {
        SKErrorCode code = isTruncation(status) ? SK_ERR_TRUNCATED : SK_ERR_UNREADABLE;
        setError(error, code, std::string("DCMTK could not parse the file: ") + status.text());
        delete file;
        return nullptr;
    }
    DcmXfer xfer(file->format.getDataset()->getOriginalXfer());
    file->originalTransferSyntax = xfer.getXferID();
    return file;
}

void sk_close(SKFile *file) { delete file; }

static long getStringUnguarded(SKFile *file, uint16_t group, uint16_t element, char *buffer, size_t capacity) {
    DcmElement *e = elementIn(itemFor(file, group), DcmTagKey(group, element));
    if (!e) return -1;
    OFString value;
    if (e->getOFStringArray(value).bad()) return -1;
    return copyOut(value, buffer, capacity);
}

int sk_get_number(SKFile *file, uint16_t group, uint16_t element, unsigned long position, double *value) {
    try { return numberOf(elementIn(itemFor(file, group), DcmTagKey(group, element)), position, value); } catch (...) { return 0; }
}

unsigned long sk_get_vm(SKFile *file, uint16_t group, uint16_t element) {
    try {
        DcmElement *e = elementIn(itemFor(file, group), DcmTagKey(group, element));
        return e ? e->getVM() : 0;
    } catch (...) { return 0; }
}

long sk_sequence_item_count(SKFile *file, uint16_t seqGroup, uint16_t seqElement) {
    try {
    DcmStack stack;
    if (file->format.getDataset()->search(DcmTagKey(seqGroup, seqElement), stack, ESM_fromHere, OFFalse).bad())
        return -1;
    DcmObject *object = stack.top();
    if (!object || object->ident() != EVR_SQ) return -1;
    return static_cast<long>(OFstatic_cast(DcmSequenceOfItems *, object)->card());
    } catch (...) { return -1; }
}

int sk_item_get_number(SKFile *file, uint16_t seqGroup, uint16_t seqElement, unsigned long item,
                       uint16_t group, uint16_t element, unsigned long position, double *value) {
    try {
        return numberOf(elementIn(sequenceItem(file, seqGroup, seqElement, item), DcmTagKey(group, element)),
                        position, value);
    } catch (...) { return 0; }
}

static long itemGetStringUnguarded(SKFile *file, uint16_t seqGroup, uint16_t seqElement, unsigned long item,
                        uint16_t group, uint16_t element, char *buffer, size_t capacity) {
    DcmElement *e = elementIn(sequenceItem(file, seqGroup, seqElement, item), DcmTagKey(group, element));
    if (!e) return -1;
    OFString value;
    if (e->getOFStringArray(value).bad()) return -1;
    return copyOut(value, buffer, capacity);
}

long long sk_pixel_data_length(SKFile *file) {
    DcmElement *e = elementIn(file->format.getDataset(), DCM_PixelData);
    if (!e) return -1;
    if (DcmXfer(file->format.getDataset()->getOriginalXfer()).isEncapsulated()) return -2;
    return static_cast<long long>(e->getLength());
}

long sk_pixel_fragment_count(SKFile *file) {
    try {
        DcmDataset *dataset = file->format.getDataset();
        DcmElement *e = elementIn(dataset, DCM_PixelData);
        const E_TransferSyntax xfer = dataset->getOriginalXfer();
        if (!e || !DcmXfer(xfer).isEncapsulated()) return -1;
        DcmPixelSequence *sequence = nullptr;
        if (OFstatic_cast(DcmPixelData *, e)->getEncapsulatedRepresentation(xfer, nullptr, sequence).bad() || !sequence) return 0;
        return sequence->card() > 0 ? static_cast<long>(sequence->card() - 1) : 0;
    } catch (...) { return -1; }
}

const char *sk_transfer_syntax_uid(SKFile *file) { return file->originalTransferSyntax.c_str(); }

const char *sk_transfer_syntax_name(const char *uid) {
    DcmXfer xfer(uid);
    return xfer.getXferName();
}

const char *sk_uid_name(const char *uid) { return dcmFindNameOfUID(uid, nullptr); }

int sk_transfer_syntax_is_decodable(const char *uid) {
    DcmXfer xfer(uid);
    switch (xfer.getXfer()) {
    case EXS_LittleEndianImplicit:
    case EXS_LittleEndianExplicit:
    case EXS_BigEndianExplicit:
    case EXS_DeflatedLittleEndianExplicit:
    case EXS_RLELossless:
    case EXS_JPEGProcess1:
    case EXS_JPEGProcess2_4:
    case EXS_JPEGProcess14:
    case EXS_JPEGProcess14SV1:
    case EXS_JPEGLSLossless:
    case EXS_JPEGLSLossy:
        return 1;
    default:
        return 0;
    }
}

static int decodeFrameUnguarded(SKFile *file, unsigned long frame, int useWindow, double center, double width,
                         int allowLibjpegTurbo, uint8_t *out, size_t outCapacity, SKFrameInfo *info,
                         SKError *error) {
    DcmDataset *dataset = file->format.getDataset();
    E_TransferSyntax xfer = dataset->getOriginalXfer();
    std::memset(info, 0, sizeof *info);
    info->decoder = SK_DECODER_DCMTK;

    if (allowLibjpegTurbo) {
        std::string reason;
        switch (file->fastJPEG.decode(dataset, frame, out, outCapacity, reason)) {
        case FastJPEGDecoder::Outcome::decoded:
            // Colour, converted by the JPEG decoder when the data is YCbCr (as DCMTK's
            // EDC_photometricInterpretation does), untouched when the PI is RGB.
            info->decoder = SK_DECODER_LIBJPEG_TURBO;
            info->is_color = 1;
            info->voi_source = SK_VOI_NOT_APPLICABLE;
            std::snprintf(info->decoded_photometric, sizeof info->decoded_photometric, "RGB");
            return 1;
        case FastJPEGDecoder::Outcome::declined:
            std::snprintf(info->fallback_reason, sizeof info->fallback_reason, "%s", reason.c_str());
            break;
        case FastJPEGDecoder::Outcome::notApplicable:
            break;
        }
    }

    // What colour model the codec delivers (RGB after the JPEG decoder's YBR conversion). Asked
    // only for YBR data, the one case where it decides who converted: for JPEG, DCMTK answers by
    // decoding frame 0 once more, which doubled the cost of every other frame.
    OFString stored;
    dataset->findAndGetOFString(DCM_PhotometricInterpretation, stored);
    DcmElement *pixelElement = elementIn(dataset, DCM_PixelData);
    checkJPEGFragments(file, dataset, xfer, pixelElement);
    if (!file->jpegFragmentDamage.empty()) {
        setError(error, SK_ERR_DECODE, file->jpegFragmentDamage);
        return 0;
    }
    if (pixelElement && stored.compare(0, 3, "YBR") == 0) {
        OFString model;
        if (OFstatic_cast(DcmPixelData *, pixelElement)->getDecompressedColorModel(dataset, model).good())
            std::snprintf(info->decoded_photometric, sizeof info->decoded_photometric, "%s", model.c_str());
    }

    // DCMTK's errors also say why libjpeg-turbo declined the frame, if it was asked.
    auto fail = [&](const std::string &message) {
        setError(error, SK_ERR_DECODE, info->fallback_reason[0]
                 ? message + " (libjpeg-turbo declined: " + info->fallback_reason + ")" : message);
        return 0;
    };

    // DCMTK 3.6.7's RLE decoder follows the segment offsets of a frame's RLE header without
    // checking them against the frame's length: an offset past the end made it read outside the
    // fragment and the process die (found by fuzzing, Tests/DICOMTests/Fixtures/fuzz-regressions/
    // rle-segment-offset-*.dcm). PS3.5 G.5: 1 to 15 segments, the first at byte 64, each later one
    // after the one before, all inside the frame.
    if (xfer == EXS_RLELossless) {
        if (const std::vector<uint8_t> *bytes = file->fastJPEG.encapsulatedFrame(dataset, frame)) {
            const std::string damage = rleHeaderDamage(bytes->data(), bytes->size());
            if (!damage.empty()) return fail("damaged RLE data in frame " + std::to_string(frame) + ": " + damage + "; re-export the file");
        }
    }

    // A JPEG stream smaller than Rows x Columns would come back from DCMTK padded to the header's
    // size (a mostly empty picture, possibly hundreds of MiB); a larger one fails in DCMTK with a
    // "buffer too small". Either way the header does not describe the pixel data: say so.
    if (xfer == EXS_JPEGProcess1 || xfer == EXS_JPEGProcess2_4 || xfer == EXS_JPEGProcess14 ||
        xfer == EXS_JPEGProcess14SV1 || xfer == EXS_JPEGLSLossless || xfer == EXS_JPEGLSLossy) {
        Uint16 rows = 0, columns = 0;
        dataset->findAndGetUint16(DCM_Rows, rows);
        dataset->findAndGetUint16(DCM_Columns, columns);
        int width = 0, height = 0;
        if (file->fastJPEG.frameDimensions(dataset, frame, width, height) && height != 0 &&
            (width != columns || height != rows)) {
            return fail("the JPEG data of frame " + std::to_string(frame) + " is " + std::to_string(width) + " x " +
                        std::to_string(height) + " pixels (columns x rows) but Columns x Rows say " + std::to_string(columns) +
                        " x " + std::to_string(rows) + "; the header does not describe the pixel data");
        }
    }

    DicomImage image(dataset, xfer, CIF_UsePartialAccessToPixelData, frame, 1);
    if (image.getStatus() != EIS_Normal) {
        return fail(std::string("DCMTK could not decode frame ") + std::to_string(frame) +
                 ": " + DicomImage::getString(image.getStatus()));
    }
    const unsigned long columns = image.getWidth(), rows = image.getHeight();
    const size_t needed = static_cast<size_t>(rows) * columns * 3;
    if (outCapacity < needed) {
        return fail("output buffer too small for the frame");
    }

    if (image.isMonochrome()) {
        info->is_color = 0;
        if (useWindow) {
            image.setWindow(center, width);
            info->voi_source = SK_VOI_EXPLICIT;
        } else if (image.getWindowCount() > 0) {
            image.setWindow(0);
            info->voi_source = SK_VOI_FILE_WINDOW;
        } else if (image.getVoiLutCount() > 0) {
            image.setVoiLut(0);
            info->voi_source = SK_VOI_LUT;
        } else {
            image.setMinMaxWindow(0);
            info->voi_source = SK_VOI_MIN_MAX;
        }
        if (info->voi_source != SK_VOI_LUT) {
            double c = 0, w = 0;
            image.getWindow(c, w);
            info->window_center = c;
            info->window_width = w;
        }
        const Uint8 *gray = OFstatic_cast(const Uint8 *, image.getOutputData(8));
        if (!gray) {
            return fail(std::string("DCMTK could not render frame ") + std::to_string(frame));
        }
        const size_t count = static_cast<size_t>(rows) * columns;
        for (size_t i = 0; i < count; ++i) {
            out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = gray[i];
        }
    } else {
        info->is_color = 1;
        info->voi_source = SK_VOI_NOT_APPLICABLE;
        const Uint8 *rgb = OFstatic_cast(const Uint8 *, image.getOutputData(8, 0, 0 /* interleaved */));
        if (!rgb) {
            return fail(std::string("DCMTK could not render frame ") + std::to_string(frame));
        }
        std::memcpy(out, rgb, needed);
    }
    return 1;
}

// MARK: The C boundary: no C++ exception crosses it. DCMTK 3.6.7 can throw from the standard
// library on damaged values (fuzzing found an uncaught std::out_of_range, "basic_string::erase",
// that terminated the process); every entry point that parses values or decodes pixels turns any
// exception into a typed error (or "absent" for a single value) naming what failed.

SKFile *sk_open(const char *path, SKError *error) {
    try { return openUnguarded(path, error); }
    catch (const std::exception &e) { setError(error, SK_ERR_UNREADABLE, std::string("DCMTK failed while parsing the file: ") + e.what()); }
    catch (...) { setError(error, SK_ERR_UNREADABLE, "DCMTK failed while parsing the file (unknown exception)"); }
    return nullptr;
}

long sk_get_string(SKFile *file, uint16_t group, uint16_t element, char *buffer, size_t capacity) {
    try { return getStringUnguarded(file, group, element, buffer, capacity); } catch (...) { return -1; }
}

long sk_item_get_string(SKFile *file, uint16_t seqGroup, uint16_t seqElement, unsigned long item,
                        uint16_t group, uint16_t element, char *buffer, size_t capacity) {
    try { return itemGetStringUnguarded(file, seqGroup, seqElement, item, group, element, buffer, capacity); } catch (...) { return -1; }
}

int sk_decode_frame_rgb8(SKFile *file, unsigned long frame, int useWindow, double center, double width,
                         int allowLibjpegTurbo, uint8_t *out, size_t outCapacity, SKFrameInfo *info,
                         SKError *error) {
    try { return decodeFrameUnguarded(file, frame, useWindow, center, width, allowLibjpegTurbo, out, outCapacity, info, error); }
    catch (const std::exception &e) { setError(error, SK_ERR_DECODE, std::string("DCMTK failed while decoding frame ") + std::to_string(frame) + ": " + e.what()); }
    catch (...) { setError(error, SK_ERR_DECODE, std::string("DCMTK failed while decoding frame ") + std::to_string(frame) + " (unknown exception)"); }
    return 0;
}

const char *sk_dcmtk_version(void) { return OFFIS_DCMTK_VERSION_STRING; }

}  // extern "C"
