/*
 * CDCMTK: the only C++ in SonoKit. A small C surface over DCMTK 3.6.7 (dcmdata, dcmimgle,
 * dcmimage, dcmjpeg, dcmjpls, RLE) so that no DCMTK type appears in the Swift API.
 *
 * Contract: every function is safe to call from any thread on distinct SKFile handles; one
 * handle must not be used by two threads at once. Codecs are registered once (sk_initialize is
 * called implicitly by sk_open).
 */
#ifndef SONOKIT_CDCMTK_H
#define SONOKIT_CDCMTK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An opened DICOM file: header parsed, large values (pixel data) left on disk until needed. */
typedef struct SKFile SKFile;

/** What went wrong, as a code the Swift side maps onto typed errors, and DCMTK's own words. */
typedef enum {
    SK_OK = 0,
    SK_ERR_NOT_DICOM = 1,
    SK_ERR_TRUNCATED = 2,
    SK_ERR_NO_PIXEL_DATA = 3,
    SK_ERR_PIXEL_DATA_TOO_SHORT = 4,
    SK_ERR_ZERO_DIMENSION = 5,
    SK_ERR_UNSUPPORTED_TRANSFER_SYNTAX = 6,
    SK_ERR_FRAME_OUT_OF_RANGE = 7,
    SK_ERR_DECODE = 8,
    SK_ERR_UNREADABLE = 9,
    SK_ERR_WRITE = 10,
    SK_ERR_NETWORK = 11               /* association, DIMSE or TCP failure (CDCMTKNetwork.h) */
} SKErrorCode;

typedef struct {
    SKErrorCode code;
    char message[1024];
} SKError;

/** Which VOI transformation a grayscale frame went through (colour frames: SK_VOI_NOT_APPLICABLE). */
typedef enum {
    SK_VOI_NOT_APPLICABLE = 0,
    SK_VOI_EXPLICIT = 1,
    SK_VOI_FILE_WINDOW = 2,
    SK_VOI_LUT = 3,
    SK_VOI_MIN_MAX = 4
} SKVOISource;

/** Which decoder produced a frame's pixels. */
typedef enum {
    SK_DECODER_DCMTK = 0,            /* DCMTK: dcmimgle/dcmimage over its codecs (IJG, CharLS, RLE) */
    SK_DECODER_LIBJPEG_TURBO = 1     /* libjpeg-turbo's TurboJPEG API (JPEG baseline colour frames) */
} SKDecoder;

/** What decoding one frame did. */
typedef struct {
    SKVOISource voi_source;
    double window_center;            /* the window applied (for SK_VOI_LUT: unused, 0) */
    double window_width;
    int is_color;                    /* 1 when the image is colour (VOI never applied) */
    char decoded_photometric[32];    /* for stored YBR_*: the colour model the codec delivered, e.g.
                                        "RGB" after a JPEG decoder converted YBR_FULL_422, or
                                        "YBR_FULL" for RLE; empty for other stored models */
    SKDecoder decoder;               /* who decoded */
    char fallback_reason[160];       /* JPEG baseline frames that DCMTK decoded although libjpeg-turbo
                                        was allowed: why (empty otherwise) */
} SKFrameInfo;

/** Registers the JPEG, JPEG-LS and RLE decoders once. Idempotent and thread-safe. */
void sk_initialize(void);

/** 1 when the file's content looks like DICOM (Part 10 preamble + "DICM", or a raw dataset that
 *  starts with a group 0002/0008 element); 0 otherwise. Never throws, never parses the whole file. */
int sk_looks_like_dicom(const char *path);

/** Opens and parses a file's header. Returns NULL and fills `error` on failure. */
SKFile *sk_open(const char *path, SKError *error);
void sk_close(SKFile *file);

/** The value of element (group,element) as text, all components joined by '\\'. Looks in the
 *  dataset and, for group 0002, in the file meta header. Returns the full length of the value
 *  (which may exceed `capacity`; the copy is truncated and NUL-terminated), or -1 when absent. */
long sk_get_string(SKFile *file, uint16_t group, uint16_t element, char *buffer, size_t capacity);

/** Component `position` of a numeric element (US, SS, UL, SL, FL, FD, DS, IS, also AT-less
 *  integer VRs) as a double. Returns 1 when found, 0 when absent or not numeric. */
int sk_get_number(SKFile *file, uint16_t group, uint16_t element, unsigned long position, double *value);

/** Value multiplicity of an element, 0 when absent. */
unsigned long sk_get_vm(SKFile *file, uint16_t group, uint16_t element);

/** Number of items of a top-level sequence, -1 when the sequence is absent. */
long sk_sequence_item_count(SKFile *file, uint16_t seq_group, uint16_t seq_element);

/** Like sk_get_number / sk_get_string, for an element inside item `item` of a top-level sequence. */
int sk_item_get_number(SKFile *file, uint16_t seq_group, uint16_t seq_element, unsigned long item,
                       uint16_t group, uint16_t element, unsigned long position, double *value);
long sk_item_get_string(SKFile *file, uint16_t seq_group, uint16_t seq_element, unsigned long item,
                        uint16_t group, uint16_t element, char *buffer, size_t capacity);

/** Length in bytes of the stored Pixel Data (7FE0,0010) value, -1 when absent, -2 when the pixel
 *  data is encapsulated (compressed fragments; its length says nothing about the frames). */
long long sk_pixel_data_length(SKFile *file);

/** Number of fragments of encapsulated Pixel Data (the items after the Basic Offset Table), -1
 *  when the pixel data is absent or not encapsulated. PS3.5 A.4: a fragment holds data of one
 *  frame only, so a file with fewer fragments than frames has lost some. */
long sk_pixel_fragment_count(SKFile *file);

/** The transfer syntax the dataset was read in (the original one, before any decoding). */
const char *sk_transfer_syntax_uid(SKFile *file);

/** DCMTK's name for a transfer syntax UID ("JPEG Baseline", ...), "Unknown Transfer Syntax" if none. */
const char *sk_transfer_syntax_name(const char *uid);

/** DCMTK's name for a well-known UID (SOP class, transfer syntax), or NULL when unknown. */
const char *sk_uid_name(const char *uid);

/** 1 when this build can decode pixel data in the transfer syntax: native and deflated syntaxes,
 *  RLE, JPEG baseline/extended/lossless (process 14 and SV1), JPEG-LS. 0 otherwise (JPEG 2000, ...). */
int sk_transfer_syntax_is_decodable(const char *uid);

/** Decodes frame `frame` (0-based) to 8-bit RGB, rows x columns x 3, row-major, interleaved, into
 *  `out` (capacity `out_capacity` bytes). Colour is converted to RGB exactly once; grayscale goes
 *  through Modality LUT/rescale, then VOI (explicit window when `use_window`, else the file's first
 *  window, else its first VOI LUT, else the frame's min/max), then MONOCHROME1 inversion, then is
 *  replicated to three channels. Returns 1 on success, 0 with `error` filled on failure.
 *
 *  With `allow_libjpeg_turbo`, JPEG baseline 8-bit colour frames (PI YBR_FULL_422, YBR_FULL or
 *  RGB) are decoded by libjpeg-turbo when the result equals DCMTK's (same colour handling, same
 *  IDCT and upsampling); every other case, and any libjpeg-turbo error, is decoded by DCMTK.
 *  `info->decoder` says which ran. */
int sk_decode_frame_rgb8(SKFile *file, unsigned long frame, int use_window, double center, double width,
                         int allow_libjpeg_turbo, uint8_t *out, size_t out_capacity, SKFrameInfo *info,
                         SKError *error);

/** The version of DCMTK this shim was compiled against (`OFFIS_DCMTK_VERSION_STRING`, e.g. "3.6.7"). */
const char *sk_dcmtk_version(void);

#ifdef __cplusplus
}
#endif
/* The SR writer's C surface (dcmsr), part of the same module. */
#include "CDCMTKSR.h"
/* The object and DICOMDIR writer's C surface (the synthetic cohorts), part of the same module. */
#include "CDCMTKWriter.h"
/* The DICOM network surface (dcmnet: C-ECHO, C-STORE SCU), part of the same module. */
#include "CDCMTKNetwork.h"

#endif
