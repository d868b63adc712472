/*
 * CDCMTKSR: a small C surface over DCMTK's dcmsr for one kind of document, the SonoKit
 * classification result as a Comprehensive 3D SR following TID 1500 (Measurement Report).
 *
 * The tree written (relationship, value type, concept name):
 *
 *   CONTAINER (126000, DCM, "Imaging Measurement Report")          template 1500 DCMR
 *   > HAS CONCEPT MOD  CODE (121049, DCM, "Language of Content Item and Descendants") = en-US
 *   > HAS OBS CONTEXT  CODE (121005, DCM, "Observer Type") = (121007, DCM, "Device")   TID 1001/1004
 *   > HAS OBS CONTEXT  UIDREF (121012, DCM, "Device Observer UID"), TEXT 121013 name, 121014
 *                      manufacturer, 121015 model name
 *   > HAS CONCEPT MOD  CODE (121058, DCM, "Procedure reported") = the imaging procedure analysed
 *   > CONTAINS CONTAINER (111028, DCM, "Image Library")                              TID 1600
 *     > CONTAINS CONTAINER (126200, DCM, "Image Library Group")
 *       > CONTAINS IMAGE (one per source instance, with the frames used)
 *   > CONTAINS CONTAINER (126010, DCM, "Imaging Measurements")
 *     > CONTAINS CONTAINER (125007, DCM, "Measurement Group")                        TID 1501
 *       > HAS OBS CONTEXT TEXT (112039, DCM, "Tracking Identifier")
 *       > HAS OBS CONTEXT UIDREF (112040, DCM, "Tracking Unique Identifier")
 *       > CONTAINS CODE (121071, DCM, "Finding") = finding (the predicted class's code)
 *       > HAS CONCEPT MOD TEXT (111001, DCM, "Algorithm Name"), (111003, "Algorithm Version"),
 *                         (111002, "Algorithm Parameters") x N                       TID 4019
 *       > CONTAINS NUM  probability concept = probability, unit (1, UCUM, "no units")   x M
 *         > HAS CONCEPT MOD CODE qualifier concept = qualifier value  (opt: the class it is of)
 *       > CONTAINS CODE evaluation concept = evaluation value     (opt: qualitative evaluation)
 *       > INFERRED FROM IMAGE references (the frames the result was computed from)
 *
 * plus, outside the tree: VerificationFlag UNVERIFIED, CompletionFlag COMPLETE, the Current
 * Requested Procedure Evidence Sequence listing every source instance, the Coding Scheme
 * Identification Sequence (0008,0110) with one item per scheme given (private and local ones), and a Contributing Equipment Sequence item (IHE AIR:
 * Manufacturer, Manufacturer's Model Name, Software Versions, Device UID; purpose of reference
 * (109102, DCM, "Processing Equipment")).
 */
#ifndef SONOKIT_CDCMTKSR_H
#define SONOKIT_CDCMTKSR_H

#include <stddef.h>
#include "CDCMTK.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A coded entry: code value, coding scheme designator, code meaning. */
typedef struct {
    const char *value;
    const char *scheme;
    const char *meaning;
    const char *version;   /* opt: Coding Scheme Version (0008,0103) */
} SKSRCode;

/** One NUM of the measurement group: a probability (decimal string) with its concept name and,
 *  when `qualifier_concept.value` is set, a HAS CONCEPT MOD CODE below it. */
typedef struct {
    SKSRCode concept;
    const char *value;
    SKSRCode qualifier_concept;   /* opt */
    SKSRCode qualifier_value;     /* opt */
} SKSRProbability;

/** One item of the Coding Scheme Identification Sequence. */
typedef struct {
    const char *designator;
    const char *name;            /* opt */
    const char *organization;    /* opt */
} SKSRScheme;

/** One source instance referenced by the report, with the 1-based frame numbers used (none for
 *  single-frame images). */
typedef struct {
    const char *sop_class_uid;
    const char *sop_instance_uid;
    const char *series_instance_uid;
    const int *frames;
    size_t frame_count;
} SKSRImage;

/** Everything one report holds. Strings may be NULL or empty when optional (marked "opt"). */
typedef struct {
    /* Patient and study modules. When `patient_source_path` names a DICOM file, they are copied
       from it (DSRDocument::readStudyData: patient name, ID, birth date, sex, study date, time,
       ID, accession number, referring physician, description) and the values below are ignored;
       otherwise the values below are written (empty ones as empty type-2 attributes). */
    const char *patient_source_path;                                            /* opt */
    const char *study_instance_uid;
    const char *patient_name, *patient_id, *patient_birth_date, *patient_sex;    /* opt */
    const char *study_date, *study_time, *accession_number, *study_id;          /* opt */
    const char *referring_physician, *study_description;                        /* opt */
    /* Series and instance. */
    const char *series_description;
    const char *content_date, *content_time;                                   /* opt: now */
    /* Equipment (IHE AIR) and the device observer. */
    const char *manufacturer, *model_name, *software_versions, *device_uid;
    /* Content. */
    SKSRCode procedure_reported;
    SKSRCode finding;
    SKSRCode evaluation_concept;             /* opt: no qualitative evaluation when value is empty */
    SKSRCode evaluation_value;
    const SKSRProbability *probabilities;
    size_t probability_count;
    const char *tracking_identifier;
    const char *tracking_uid;
    const char *algorithm_name, *algorithm_version;
    const char *const *algorithm_parameters;
    size_t algorithm_parameter_count;
    /* The coding schemes to declare in (0008,0110) (private and local schemes the codes use). */
    const SKSRScheme *schemes;
    size_t scheme_count;
    const SKSRImage *images;
    size_t image_count;
    /* Non-zero when a text of the report is not ASCII (e.g. an em dash in the weights' licence, a
     * class name with umlauts): the SR declares Specific Character Set ISO_IR 192 (UTF-8), and a
     * copied patient/study module is converted to UTF-8 first. Zero: the default repertoire. */
    int utf8;
} SKSRReport;

/** Writes `report` as a DICOM Part 10 file at `path` (explicit VR little endian). The new
 *  SeriesInstanceUID and SOPInstanceUID are generated and copied into `sop_instance_uid_out`
 *  (capacity `capacity`, may be NULL). Returns 1 on success, 0 with `error` filled otherwise
 *  (SK_ERR_WRITE with DCMTK's words, naming the content item that was refused). */
int sk_sr_write_classification(const SKSRReport *report, const char *path,
                               char *sop_instance_uid_out, size_t capacity, SKError *error);

#ifdef __cplusplus
}
#endif
#endif
