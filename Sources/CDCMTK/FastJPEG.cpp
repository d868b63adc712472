// JPEG baseline frames through libjpeg-turbo's TurboJPEG API (see FastJPEG.h for the contract).
//
// Why the result equals DCMTK's: DCMTK 3.6.7 decodes 8-bit JPEG with its copy of IJG libjpeg 6b,
// registered with EDC_photometricInterpretation, i.e. it converts YCbCr to RGB exactly when the
// DICOM Photometric Interpretation is YBR_FULL, YBR_FULL_422 or YBR_PARTIAL_422 (whatever the
// JPEG markers say) and otherwise leaves the components as they are. Its IJG defaults are the
// accurate integer IDCT (JDCT_ISLOW), fancy (triangle-filter) upsampling and the ITU-R BT.601
// full-range YCbCr->RGB tables. libjpeg-turbo's decompressor defaults to the same three, and its
// SIMD versions of the islow IDCT, the h2v1/h2v2 fancy upsamplers and the colour converter are
// bit-exact with libjpeg 6b's C code. Two differences remain, and both go to DCMTK:
//  - libjpeg-turbo (>= 2.0) has a fancy h1v2 upsampler that 6b lacks (4:4:0), and 4:1:1 uses
//    different code paths: only 4:4:4, 4:2:2 and 4:2:0 are taken here;
//  - TurboJPEG cannot be told the JPEG colour space; it guesses from the JFIF/Adobe markers and
//    component ids. The guess must agree with the PI (YCbCr for YBR_FULL[_422], RGB for RGB),
//    otherwise libjpeg-turbo would convert where DCMTK does not, or the reverse.
// TJFLAG_ACCURATEDCT is passed although it is libjpeg-turbo's decompression default, so that a
// future default cannot silently switch to the fast IDCT; TJFLAG_FASTUPSAMPLE is never passed.
// TJFLAG_STOPONWARNING makes a damaged stream (which IJG would pad and DCMTK reports) a TurboJPEG
// error, hence a fallback to DCMTK and its error, instead of a silently padded picture.
#include "FastJPEG.h"

#include "dcmtk/dcmdata/dcpixseq.h"
#include "dcmtk/dcmdata/dcpxitem.h"
#include "dcmtk/dcmdata/dcxfer.h"

#include <turbojpeg.h>

#include <cstring>

namespace {

/// What the Start Of Frame segment of a JPEG stream declares.
struct FrameHeader {
    int marker = 0;      // 0xC0 baseline, 0xC1 extended, ...
    int precision = 0;   // bits per sample
    int components = 0;
    int height = 0;      // 0: defined later by a DNL marker
    int width = 0;
};

/// Walks the marker segments of `data` up to the first SOFn. False when there is none before
/// the first scan (not a JPEG stream DCMTK's baseline decoder would read either). With
/// `jpegLS`, the JPEG-LS frame header SOF55 (FFF7, the same layout) counts as one too.
bool readFrameHeader(const uint8_t *data, size_t size, FrameHeader &header, bool jpegLS = false) {
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return false;
    size_t i = 2;
    while (i + 4 <= size) {
        if (data[i] != 0xFF) return false;
        while (i < size && data[i] == 0xFF) ++i;   // fill bytes
        if (i >= size) return false;
        const int marker = data[i++];
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;   // no length
        if (marker == 0xD9 || marker == 0xDA) return false;                    // EOI / SOS before SOF
        if (i + 2 > size) return false;
        const size_t length = (size_t(data[i]) << 8) | data[i + 1];
        if (length < 2 || i + length > size) return false;
        const bool isSOF = (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) ||
                           (jpegLS && marker == 0xF7);
        if (isSOF) {
            if (length < 8) return false;
            header.marker = marker;
            header.precision = data[i + 2];
            header.height = (data[i + 3] << 8) | data[i + 4];
            header.width = (data[i + 5] << 8) | data[i + 6];
            header.components = data[i + 7];
            return true;
        }
        i += length;
    }
    return false;
}

uint32_t littleEndian32(const uint8_t *p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

}  // namespace

FastJPEGDecoder::~FastJPEGDecoder() {
    if (handle_) tjDestroy(static_cast<tjhandle>(handle_));
}

bool FastJPEGDecoder::appendFragment(DcmPixelItem *item, std::string &reason) {
    const Uint32 length = item->getLength();
    const size_t start = compressed_.size();
    compressed_.resize(start + length);
    if (length == 0) return true;
    // getPartialValue reads from the file without keeping the value in memory (the dataset was
    // loaded with pixel data left on disk), so a long cine never accumulates its fragments.
    OFCondition status = item->getPartialValue(compressed_.data() + start, 0, length, &cache_);
    if (status.bad()) {
        reason = std::string("cannot read the JPEG fragment: ") + status.text();
        return false;
    }
    return true;
}

bool FastJPEGDecoder::frameBytes(DcmPixelSequence *sequence, unsigned long frame, unsigned long frameCount,
                                 std::string &reason) {
    compressed_.clear();
    const unsigned long fragments = sequence->card() > 0 ? sequence->card() - 1 : 0;   // item 0: offset table
    DcmPixelItem *item = nullptr;
    if (fragments == frameCount) {
        // The common case: one fragment per frame.
        if (sequence->getItem(item, frame + 1).bad() || !item) { reason = "missing JPEG fragment"; return false; }
        return appendFragment(item, reason);
    }
    if (frameCount == 1 && fragments > 1) {
        // One frame split into several fragments: they are all of it, in order.
        for (unsigned long k = 1; k <= fragments; ++k) {
            if (sequence->getItem(item, k).bad() || !item) { reason = "missing JPEG fragment"; return false; }
            if (!appendFragment(item, reason)) return false;
        }
        return true;
    }
    // Several fragments per frame: only the Basic Offset Table says where frames start. Each
    // entry is the byte offset of a frame's first fragment item (tag + length + value) counted
    // from the first fragment; it must be exactly one entry per frame, starting at 0, increasing,
    // and each must land on an item boundary.
    DcmPixelItem *table = nullptr;
    if (fragments < frameCount || sequence->getItem(table, 0).bad() || !table ||
        table->getLength() != 4 * frameCount) {
        reason = std::to_string(fragments) + " JPEG fragments for " + std::to_string(frameCount) +
                 " frames and no usable Basic Offset Table";
        return false;
    }
    std::vector<uint8_t> raw(table->getLength());
    if (table->getPartialValue(raw.data(), 0, table->getLength(), &cache_).bad()) {
        reason = "cannot read the Basic Offset Table";
        return false;
    }
    std::vector<unsigned long> firstFragment;   // 1-based item index where each frame starts
    uint64_t position = 0;
    unsigned long k = 1;
    for (unsigned long f = 0; f < frameCount; ++f) {
        const uint64_t offset = littleEndian32(raw.data() + 4 * f);
        while (k <= fragments && position < offset) {
            if (sequence->getItem(item, k).bad() || !item) break;
            position += 8 + uint64_t(item->getLength());
            ++k;
        }
        if (position != offset || k > fragments) {
            reason = "the Basic Offset Table does not match the JPEG fragments";
            return false;
        }
        firstFragment.push_back(k);
    }
    const unsigned long first = firstFragment[frame];
    const unsigned long pastLast = frame + 1 < frameCount ? firstFragment[frame + 1] : fragments + 1;
    for (unsigned long i = first; i < pastLast; ++i) {
        if (sequence->getItem(item, i).bad() || !item) { reason = "missing JPEG fragment"; return false; }
        if (!appendFragment(item, reason)) return false;
    }
    return true;
}

FastJPEGDecoder::Outcome FastJPEGDecoder::decode(DcmDataset *dataset, unsigned long frame, uint8_t *out,
                                                 size_t outCapacity, std::string &reason) {
    if (dataset->getOriginalXfer() != EXS_JPEGProcess1) return Outcome::notApplicable;

    // The image attributes: the fast path covers 8-bit unsigned three-sample colour only.
    Uint16 samples = 0, bitsAllocated = 0, bitsStored = 0, highBit = 0, representation = 0, rows = 0, columns = 0;
    dataset->findAndGetUint16(DCM_SamplesPerPixel, samples);
    dataset->findAndGetUint16(DCM_BitsAllocated, bitsAllocated);
    dataset->findAndGetUint16(DCM_BitsStored, bitsStored);
    dataset->findAndGetUint16(DCM_HighBit, highBit);
    dataset->findAndGetUint16(DCM_PixelRepresentation, representation);
    dataset->findAndGetUint16(DCM_Rows, rows);
    dataset->findAndGetUint16(DCM_Columns, columns);
    OFString photometric;
    dataset->findAndGetOFString(DCM_PhotometricInterpretation, photometric);
    Sint32 frames = 1;
    dataset->findAndGetSint32(DCM_NumberOfFrames, frames);
    if (frames < 1) frames = 1;
    if (frame >= static_cast<unsigned long>(frames)) { reason = "frame past the last"; return Outcome::declined; }

    const bool ybr = photometric == "YBR_FULL_422" || photometric == "YBR_FULL";
    if (!ybr && photometric != "RGB") {
        reason = photometric.empty() ? "no Photometric Interpretation"
               : photometric == "MONOCHROME1" || photometric == "MONOCHROME2"
                   ? "grayscale keeps DCMTK's Modality LUT/VOI pipeline"
                   : "Photometric Interpretation " + std::string(photometric.c_str()) + " is decoded by DCMTK";
        return Outcome::declined;
    }
    if (samples != 3) { reason = "Samples per Pixel " + std::to_string(samples) + " with a colour PI"; return Outcome::declined; }
    if (bitsAllocated != 8 || bitsStored != 8 || highBit != 7) {
        reason = "Bits Allocated/Stored/High Bit " + std::to_string(bitsAllocated) + "/" + std::to_string(bitsStored) +
                 "/" + std::to_string(highBit) + " (not 8/8/7)";
        return Outcome::declined;
    }
    if (representation != 0) { reason = "signed pixel data"; return Outcome::declined; }
    const size_t needed = size_t(rows) * columns * 3;
    if (rows == 0 || columns == 0 || outCapacity < needed) { reason = "no room for the frame"; return Outcome::declined; }

    // The compressed bytes of this frame.
    DcmElement *element = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, element).bad() || !element) { reason = "no Pixel Data"; return Outcome::declined; }
    DcmPixelData *pixelData = OFstatic_cast(DcmPixelData *, element);
    E_TransferSyntax repType = EXS_Unknown;
    const DcmRepresentationParameter *repParam = nullptr;
    pixelData->getOriginalRepresentationKey(repType, repParam);
    DcmPixelSequence *sequence = nullptr;
    if (pixelData->getEncapsulatedRepresentation(repType, repParam, sequence).bad() || !sequence) {
        reason = "no encapsulated pixel data";
        return Outcome::declined;
    }
    if (!frameBytes(sequence, frame, static_cast<unsigned long>(frames), reason)) return Outcome::declined;

    // The stream itself must be what the attributes say.
    FrameHeader sof;
    if (!readFrameHeader(compressed_.data(), compressed_.size(), sof)) { reason = "no JPEG frame header"; return Outcome::declined; }
    if (sof.marker != 0xC0 && sof.marker != 0xC1) { reason = "JPEG process is not sequential Huffman DCT"; return Outcome::declined; }
    if (sof.precision != 8) { reason = std::to_string(sof.precision) + "-bit JPEG data"; return Outcome::declined; }
    if (sof.components != 3) { reason = std::to_string(sof.components) + " JPEG components with 3 samples per pixel"; return Outcome::declined; }

    if (!handle_) handle_ = tjInitDecompress();
    if (!handle_) { reason = "TurboJPEG could not start"; return Outcome::declined; }
    tjhandle tj = static_cast<tjhandle>(handle_);
    int width = 0, height = 0, subsampling = -1, colorspace = -1;
    if (tjDecompressHeader3(tj, compressed_.data(), static_cast<unsigned long>(compressed_.size()), &width, &height,
                            &subsampling, &colorspace) != 0) {
        reason = std::string("TurboJPEG: ") + tjGetErrorStr2(tj);
        return Outcome::declined;
    }
    if (width != columns || height != rows) {
        reason = "JPEG is " + std::to_string(width) + "x" + std::to_string(height) + ", the file says " +
                 std::to_string(columns) + "x" + std::to_string(rows);
        return Outcome::declined;
    }
    if (ybr ? colorspace != TJCS_YCbCr : colorspace != TJCS_RGB) {
        reason = std::string("the JPEG markers say ") + (colorspace == TJCS_YCbCr ? "YCbCr" : colorspace == TJCS_RGB ? "RGB" : "another colour space") +
                 ", the Photometric Interpretation says " + photometric.c_str();
        return Outcome::declined;
    }
    if (subsampling != TJSAMP_444 && subsampling != TJSAMP_422 && subsampling != TJSAMP_420) {
        reason = "chroma subsampling other than 4:4:4, 4:2:2, 4:2:0";
        return Outcome::declined;
    }
    const int flags = TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING;
    if (tjDecompress2(tj, compressed_.data(), static_cast<unsigned long>(compressed_.size()), out, columns,
                      columns * 3, rows, TJPF_RGB, flags) != 0) {
        reason = std::string("TurboJPEG: ") + tjGetErrorStr2(tj);
        return Outcome::declined;
    }
    return Outcome::decoded;
}

bool FastJPEGDecoder::frameDimensions(DcmDataset *dataset, unsigned long frame, int &width, int &height) {
    if (!encapsulatedFrame(dataset, frame)) return false;
    const E_TransferSyntax xfer = dataset->getOriginalXfer();
    FrameHeader sof;
    if (!readFrameHeader(compressed_.data(), compressed_.size(), sof, xfer == EXS_JPEGLSLossless || xfer == EXS_JPEGLSLossy)) return false;
    width = sof.width;
    height = sof.height;
    return true;
}

const std::vector<uint8_t> *FastJPEGDecoder::encapsulatedFrame(DcmDataset *dataset, unsigned long frame) {
    DcmElement *element = nullptr;
    if (dataset->findAndGetElement(DCM_PixelData, element).bad() || !element) return nullptr;
    DcmPixelData *pixelData = OFstatic_cast(DcmPixelData *, element);
    E_TransferSyntax repType = EXS_Unknown;
    const DcmRepresentationParameter *repParam = nullptr;
    pixelData->getOriginalRepresentationKey(repType, repParam);
    DcmPixelSequence *sequence = nullptr;
    if (pixelData->getEncapsulatedRepresentation(repType, repParam, sequence).bad() || !sequence) return nullptr;
    Sint32 frames = 1;
    dataset->findAndGetSint32(DCM_NumberOfFrames, frames);
    if (frames < 1) frames = 1;
    if (frame >= static_cast<unsigned long>(frames)) return nullptr;
    std::string reason;
    if (!frameBytes(sequence, frame, static_cast<unsigned long>(frames), reason)) return nullptr;
    return &compressed_;
}
