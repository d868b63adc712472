// Private to CDCMTK: JPEG baseline frames decoded by libjpeg-turbo's TurboJPEG API instead of
// DCMTK's IJG codec, for the files where the two give the same RGB. See FastJPEG.cpp.
#ifndef SONOKIT_FASTJPEG_H
#define SONOKIT_FASTJPEG_H

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dctk.h"
#include "dcmtk/dcmdata/dcfcache.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

/// Per-file state of the fast path. Owned by one SKFile, so by one thread at a time: the
/// TurboJPEG handle is never shared (TurboJPEG handles are not thread-safe).
class FastJPEGDecoder {
public:
    FastJPEGDecoder() = default;
    ~FastJPEGDecoder();
    FastJPEGDecoder(const FastJPEGDecoder &) = delete;
    FastJPEGDecoder &operator=(const FastJPEGDecoder &) = delete;

    /// What happened when the fast path was asked for a frame.
    enum class Outcome {
        /// The transfer syntax is not JPEG baseline: the fast path does not apply.
        notApplicable,
        /// JPEG baseline, but something about the file or the frame needs DCMTK; `reason` says what.
        declined,
        /// `out` holds the frame as interleaved 8-bit RGB.
        decoded,
    };

    /// Decodes frame `frame` (0-based) of `dataset` to rows x columns x 3 RGB in `out` when the
    /// file is JPEG baseline (1.2.840.10008.1.2.4.50), 8-bit, three samples, Photometric
    /// Interpretation YBR_FULL_422 / YBR_FULL (YCbCr data, converted to RGB once, by the
    /// decoder) or RGB (no conversion), the JPEG's own colour space agrees with the PI, its
    /// dimensions equal Rows x Columns, its chroma subsampling is 4:4:4, 4:2:2 or 4:2:0, and its
    /// frame lies in one fragment (or in fragments the Basic Offset Table assigns). Anything
    /// else, and any TurboJPEG error or warning, is `declined` with a reason: the caller then
    /// decodes with DCMTK, which defines the reference behaviour.
    Outcome decode(DcmDataset *dataset, unsigned long frame, uint8_t *out, size_t outCapacity, std::string &reason);

    /// The width and height that the Start Of Frame header of frame `frame`'s JPEG (or JPEG-LS,
    /// SOF55) stream declares, for any JPEG transfer syntax; false when the frame's bytes or its
    /// frame header cannot be found (DCMTK then decides what the frame is). A height of 0 means
    /// the stream defines it later (DNL marker).
    bool frameDimensions(DcmDataset *dataset, unsigned long frame, int &width, int &height);

    /// The compressed bytes of frame `frame` of any encapsulated transfer syntax (one fragment per
    /// frame, one frame in several fragments, or fragments the Basic Offset Table assigns), or
    /// NULL when they cannot be told apart. Valid until the next call on this decoder.
    const std::vector<uint8_t> *encapsulatedFrame(DcmDataset *dataset, unsigned long frame);

private:
    /// Copies the compressed bytes of `frame` into `compressed_`; false with `reason` otherwise.
    bool frameBytes(DcmPixelSequence *sequence, unsigned long frame, unsigned long frameCount, std::string &reason);
    bool appendFragment(DcmPixelItem *item, std::string &reason);

    void *handle_ = nullptr;                 // tjhandle, created on first use
    DcmFileCache cache_;                     // keeps the file open across fragments
    std::vector<uint8_t> compressed_;        // reused between frames
};

#endif
