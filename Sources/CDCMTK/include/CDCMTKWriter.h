/*
 * CDCMTKWriter: writing DICOM objects with DCMTK (the synthetic cohort generator, Synthesis).
 *
 * One object is a list of attributes, each given as a DCMTK attribute path and a string value
 * (DcmPathProcessor syntax: "Rows", "SequenceOfUltrasoundRegions[0].PhysicalDeltaX"; a sequence
 * path with an empty value makes an empty sequence; multi-valued strings are backslash separated,
 * an attribute tag value is written "(gggg,eeee)"), plus native pixel data and the encoding to
 * store it in. The encodings are DCMTK's own, in-process: what dcmconv (+ti, +tb, +td),
 * dcmcjpeg (+eb, +eb +cr, +eb +s4, +ee, +el, +e1), dcmcjpls (+el, +en) and dcmcrle write, with
 * the SOP Instance UID kept for the lossy ones (+un), and a JFIF stream of libjpeg-turbo
 * (4:2:2) wrapped as-is, as img2dcm does with a device's JPEG.
 *
 * Thread safety: objects may be written from several threads at once. The dcmjpeg encoders are
 * registered per configuration (colour space, subsampling), so JPEG (10918) encodes take one
 * process-wide lock; JPEG-LS, RLE and the uncompressed syntaxes run in parallel. The pad byte
 * after a fragment's EOI is always 0x00 (DCMTK's JPEG-LS encoder leaves it uninitialised).
 */
#ifndef SONOKIT_CDCMTKWRITER_H
#define SONOKIT_CDCMTKWRITER_H

#include <stddef.h>
#include <stdint.h>
#include "CDCMTK.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How the pixel data is stored (and the transfer syntax of the file). */
typedef enum {
    SK_ENCODE_EXPLICIT_LE = 0,          /* 1.2.840.10008.1.2.1 */
    SK_ENCODE_IMPLICIT_LE = 1,          /* 1.2.840.10008.1.2 */
    SK_ENCODE_BIG_ENDIAN = 2,           /* 1.2.840.10008.1.2.2 */
    SK_ENCODE_DEFLATE = 3,              /* 1.2.840.10008.1.2.1.99 */
    SK_ENCODE_JPEG_BASELINE = 4,        /* .4.50, YCbCr 4:2:2, quality 90 */
    SK_ENCODE_JPEG_BASELINE_RGB = 5,    /* .4.50, compressed in RGB (no colour conversion) */
    SK_ENCODE_JPEG_BASELINE_444 = 6,    /* .4.50, YCbCr 4:4:4 */
    SK_ENCODE_JPEG_EXTENDED = 7,        /* .4.51, 12-bit capable */
    SK_ENCODE_JPEG_LOSSLESS = 8,        /* .4.57, process 14, selection value 6 */
    SK_ENCODE_JPEG_LOSSLESS_SV1 = 9,    /* .4.70 */
    SK_ENCODE_RLE = 10,                 /* .5 */
    SK_ENCODE_JPEG_LS_LOSSLESS = 11,    /* .4.80 */
    SK_ENCODE_JPEG_LS_NEAR_LOSSLESS = 12, /* .4.81, NEAR = 2 */
    SK_ENCODE_JFIF_WRAPPED = 13         /* .4.50: libjpeg-turbo JFIF 4:2:2, quality 88, one fragment per frame;
                                           pixels must be 8-bit interleaved RGB */
} SKEncoding;

typedef struct {
    const char *path;
    const char *value;
} SKWriteAttribute;

typedef struct {
    const SKWriteAttribute *attributes;
    size_t attribute_count;
    /* Native pixel data in the order of the Image Pixel module (frame after frame; 16-bit samples
       as host-order uint16). NULL for objects without pixels (SR, KO). */
    const void *pixel_data;
    size_t pixel_data_length;
    int bits_allocated;                 /* 8 or 16 */
    int rows, columns, frames;          /* for SK_ENCODE_JFIF_WRAPPED */
    SKEncoding encoding;
} SKWriteObject;

/** Writes `object` as a DICOM Part 10 file at `path` (replacing it). Returns 1 on success, 0
 *  with `error` filled otherwise (SK_ERR_WRITE naming the attribute or step DCMTK refused). */
int sk_write_object(const SKWriteObject *object, const char *path, SKError *error);

/** Writes a DICOMDIR (general purpose profile, transfer-syntax check disabled as `dcmmkdir -Nxc`,
 *  missing type 1 values invented as `+I`) at `dicomdir_path`, listing `files` (paths relative
 *  to `root`, the folder the DICOMDIR will be in, components of at most 8 characters of
 *  A-Z 0-9 _). The file meta MediaStorageSOPInstanceUID is `media_uid` (DCMTK would invent a
 *  random one). Returns 1 on success, 0 with `error` filled otherwise. */
int sk_write_dicomdir(const char *dicomdir_path, const char *root, const char *fileset_id, const char *media_uid,
                      const char *const *files, size_t file_count, SKError *error);

#ifdef __cplusplus
}
#endif
#endif
