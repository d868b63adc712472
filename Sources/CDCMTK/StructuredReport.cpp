// The classification result as a DICOM Comprehensive 3D SR (TID 1500), written with DCMTK's
// dcmsr. The tree and the attributes outside it are described in include/CDCMTKSR.h.
#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmsr/dsrdoc.h"
#include "dcmtk/dcmsr/dsrimgvl.h"
#include "dcmtk/dcmsr/dsrnumvl.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "CDCMTKSR.h"

namespace {

/// A failed step: the step's name and DCMTK's words.
struct StepFailure {
    std::string step;
    std::string message;
};

std::string text(const char *s) { return s ? std::string(s) : std::string(); }

DSRCodedEntryValue coded(const SKSRCode &c) {
    return DSRCodedEntryValue(text(c.value).c_str(), text(c.scheme).c_str(), text(c.version).c_str(), text(c.meaning).c_str());
}

bool present(const char *s) { return s && *s; }

void require(const OFCondition &status, const std::string &step) {
    if (status.bad()) throw StepFailure{step, status.text()};
}

void requireNode(size_t id, const std::string &step) {
    if (id == 0) throw StepFailure{step, "DCMTK refused to add the content item (relationship not allowed here)"};
}

/// Adds a content item (after the current one, or below it when `below`) with a concept name.
void add(DSRDocumentTree &tree, DSRTypes::E_RelationshipType rel, DSRTypes::E_ValueType type,
         const DSRCodedEntryValue &concept, bool below, const std::string &step) {
    requireNode(tree.addContentItem(rel, type, below ? DSRTypes::AM_belowCurrent : DSRTypes::AM_afterCurrent), step);
    require(tree.getCurrentContentItem().setConceptName(concept), step + ": concept name");
}

void addText(DSRDocumentTree &tree, DSRTypes::E_RelationshipType rel, const DSRCodedEntryValue &concept,
             const std::string &value, bool below, const std::string &step) {
    add(tree, rel, DSRTypes::VT_Text, concept, below, step);
    require(tree.getCurrentContentItem().setStringValue(value.c_str()), step + ": value");
}

void addCode(DSRDocumentTree &tree, DSRTypes::E_RelationshipType rel, const DSRCodedEntryValue &concept,
             const DSRCodedEntryValue &value, bool below, const std::string &step) {
    add(tree, rel, DSRTypes::VT_Code, concept, below, step);
    require(tree.getCurrentContentItem().setCodeValue(value), step + ": value");
}

void addUID(DSRDocumentTree &tree, DSRTypes::E_RelationshipType rel, const DSRCodedEntryValue &concept,
            const std::string &value, bool below, const std::string &step) {
    add(tree, rel, DSRTypes::VT_UIDRef, concept, below, step);
    require(tree.getCurrentContentItem().setStringValue(value.c_str()), step + ": value");
}

void addImage(DSRDocumentTree &tree, DSRTypes::E_RelationshipType rel, const SKSRImage &image, bool withFrames,
              bool below, const std::string &step) {
    requireNode(tree.addContentItem(rel, DSRTypes::VT_Image, below ? DSRTypes::AM_belowCurrent : DSRTypes::AM_afterCurrent), step);
    DSRImageReferenceValue reference(text(image.sop_class_uid).c_str(), text(image.sop_instance_uid).c_str());
    if (withFrames) {
        for (size_t i = 0; i < image.frame_count; i++) reference.getFrameList().addItem(image.frames[i]);
    }
    require(tree.getCurrentContentItem().setImageReference(reference), step + " " + text(image.sop_instance_uid));
}

void put(DcmItem &item, const DcmTagKey &tag, const char *value, const std::string &name) {
    require(item.putAndInsertString(tag, value ? value : ""), "attribute " + name);
}

void build(const SKSRReport &r, DcmFileFormat &file) {
    DSRDocument doc(DSRTypes::DT_Comprehensive3DSR);
    const bool copyPatient = r.patient_source_path && *r.patient_source_path;
    if (copyPatient) {
        DcmFileFormat source;
        require(source.loadFile(r.patient_source_path), std::string("reading the patient and study modules of ") + r.patient_source_path);
        if (r.utf8) {
            // One character set for the whole SR: the source's values are converted to UTF-8
            // (a no-op for a source in the default repertoire or already in ISO_IR 192).
            require(source.convertToUTF8(), std::string("converting the patient and study modules of ") + r.patient_source_path + " to UTF-8");
        }
        require(doc.readStudyData(*source.getDataset()), "copying the patient and study modules");
    }
    require(doc.createNewSeriesInStudy(text(r.study_instance_uid).c_str()), "StudyInstanceUID");
    require(doc.setSeriesDescription(text(r.series_description).c_str(), OFFalse), "SeriesDescription");
    require(doc.setManufacturer(text(r.manufacturer).c_str()), "Manufacturer");
    require(doc.setManufacturerModelName(text(r.model_name).c_str()), "ManufacturerModelName");
    require(doc.setSoftwareVersions(text(r.software_versions).c_str(), OFFalse), "SoftwareVersions");

    DSRDocumentTree &tree = doc.getTree();
    // Root: the measurement report.
    requireNode(tree.addContentItem(DSRTypes::RT_isRoot, DSRTypes::VT_Container), "root CONTAINER");
    require(tree.getCurrentContentItem().setConceptName(DSRCodedEntryValue("126000", "DCM", "Imaging Measurement Report")), "root concept");
    require(tree.getCurrentContentItem().setTemplateIdentification("1500", "DCMR"), "root template identification");

    // TID 1204 language, TID 1001/1004 device observer, procedure reported.
    addCode(tree, DSRTypes::RT_hasConceptMod, DSRCodedEntryValue("121049", "DCM", "Language of Content Item and Descendants"),
            DSRCodedEntryValue("en-US", "RFC5646", "English (United States)"), true, "language (TID 1204)");
    addCode(tree, DSRTypes::RT_hasObsContext, DSRCodedEntryValue("121005", "DCM", "Observer Type"),
            DSRCodedEntryValue("121007", "DCM", "Device"), false, "observer type (TID 1001)");
    addUID(tree, DSRTypes::RT_hasObsContext, DSRCodedEntryValue("121012", "DCM", "Device Observer UID"),
           text(r.device_uid), false, "device observer UID (TID 1004)");
    addText(tree, DSRTypes::RT_hasObsContext, DSRCodedEntryValue("121013", "DCM", "Device Observer Name"),
            text(r.algorithm_name), false, "device observer name (TID 1004)");
    addText(tree, DSRTypes::RT_hasObsContext, DSRCodedEntryValue("121014", "DCM", "Device Observer Manufacturer"),
            text(r.manufacturer), false, "device observer manufacturer (TID 1004)");
    addText(tree, DSRTypes::RT_hasObsContext, DSRCodedEntryValue("121015", "DCM", "Device Observer Model Name"),
            text(r.model_name), false, "device observer model name (TID 1004)");
    addCode(tree, DSRTypes::RT_hasConceptMod, DSRCodedEntryValue("121058", "DCM", "Procedure reported"),
            coded(r.procedure_reported), false, "procedure reported");

    // TID 1600 image library: every source instance.
    add(tree, DSRTypes::RT_contains, DSRTypes::VT_Container, DSRCodedEntryValue("111028", "DCM", "Image Library"), false, "image library (TID 1600)");
    add(tree, DSRTypes::RT_contains, DSRTypes::VT_Container, DSRCodedEntryValue("126200", "DCM", "Image Library Group"), true, "image library group");
    for (size_t i = 0; i < r.image_count; i++) addImage(tree, DSRTypes::RT_contains, r.images[i], false, i == 0, "image library entry");
    if (r.image_count > 0) tree.goUp();
    tree.goUp();

    // Imaging measurements > one measurement group (TID 1501) with the classification.
    add(tree, DSRTypes::RT_contains, DSRTypes::VT_Container, DSRCodedEntryValue("126010", "DCM", "Imaging Measurements"), false, "imaging measurements");
    add(tree, DSRTypes::RT_contains, DSRTypes::VT_Container, DSRCodedEntryValue("125007", "DCM", "Measurement Group"), true, "measurement group (TID 1501)");
    addText(tree, DSRTypes::RT_hasObsContext, DSRCodedEntryValue("112039", "DCM", "Tracking Identifier"),
            text(r.tracking_identifier), true, "tracking identifier");
    addUID(tree, DSRTypes::RT_hasObsContext, DSRCodedEntryValue("112040", "DCM", "Tracking Unique Identifier"),
           text(r.tracking_uid), false, "tracking unique identifier");
    addCode(tree, DSRTypes::RT_contains, DSRCodedEntryValue("121071", "DCM", "Finding"), coded(r.finding), false, "finding");
    addText(tree, DSRTypes::RT_hasConceptMod, DSRCodedEntryValue("111001", "DCM", "Algorithm Name"),
            text(r.algorithm_name), false, "algorithm name (TID 4019)");
    addText(tree, DSRTypes::RT_hasConceptMod, DSRCodedEntryValue("111003", "DCM", "Algorithm Version"),
            text(r.algorithm_version), false, "algorithm version (TID 4019)");
    for (size_t i = 0; i < r.algorithm_parameter_count; i++) {
        addText(tree, DSRTypes::RT_hasConceptMod, DSRCodedEntryValue("111002", "DCM", "Algorithm Parameters"),
                text(r.algorithm_parameters[i]), false, "algorithm parameter (TID 4019)");
    }
    for (size_t i = 0; i < r.probability_count; i++) {
        const SKSRProbability &p = r.probabilities[i];
        const std::string step = "probability " + std::to_string(i + 1) + " (" + text(p.concept.meaning) + ")";
        add(tree, DSRTypes::RT_contains, DSRTypes::VT_Num, coded(p.concept), false, step);
        require(tree.getCurrentContentItem().setNumericValue(
                    DSRNumericMeasurementValue(text(p.value).c_str(), DSRCodedEntryValue("1", "UCUM", "no units"))),
                step + ": value");
        if (present(p.qualifier_concept.value)) {
            addCode(tree, DSRTypes::RT_hasConceptMod, coded(p.qualifier_concept), coded(p.qualifier_value), true, step + ": qualifier");
            tree.goUp();
        }
    }
    if (present(r.evaluation_concept.value)) {
        addCode(tree, DSRTypes::RT_contains, coded(r.evaluation_concept), coded(r.evaluation_value), false, "qualitative evaluation");
    }
    for (size_t i = 0; i < r.image_count; i++) addImage(tree, DSRTypes::RT_inferredFrom, r.images[i], true, i == 0, "evidence image");

    // Outside the tree.
    for (size_t i = 0; i < r.image_count; i++) {
        const SKSRImage &image = r.images[i];
        require(doc.getCurrentRequestedProcedureEvidence().addItem(text(r.study_instance_uid).c_str(), text(image.series_instance_uid).c_str(),
                                                                   text(image.sop_class_uid).c_str(), text(image.sop_instance_uid).c_str()),
                "current requested procedure evidence " + text(image.sop_instance_uid));
    }
    for (size_t i = 0; i < r.scheme_count; i++) {
        const SKSRScheme &scheme = r.schemes[i];
        require(doc.getCodingSchemeIdentification().addItem(text(scheme.designator).c_str(), "", text(scheme.name).c_str(),
                                                           text(scheme.organization).c_str(), OFFalse),
                "coding scheme identification " + text(scheme.designator));
    }
    require(doc.completeDocument(), "completion flag");
    if (r.utf8) require(doc.setSpecificCharacterSetType(DSRTypes::CS_UTF8), "SpecificCharacterSet ISO_IR 192");

    DcmDataset &ds = *file.getDataset();
    require(doc.write(ds), "writing the SR document");

    // Patient and study modules: copied above, or what the caller gives.
    if (!copyPatient) {
    put(ds, DCM_PatientName, r.patient_name, "PatientName");
    put(ds, DCM_PatientID, r.patient_id, "PatientID");
    put(ds, DCM_PatientBirthDate, r.patient_birth_date, "PatientBirthDate");
    put(ds, DCM_PatientSex, r.patient_sex, "PatientSex");
    put(ds, DCM_StudyDate, r.study_date, "StudyDate");
    put(ds, DCM_StudyTime, r.study_time, "StudyTime");
    put(ds, DCM_AccessionNumber, r.accession_number, "AccessionNumber");
    put(ds, DCM_StudyID, r.study_id, "StudyID");
    put(ds, DCM_ReferringPhysicianName, r.referring_physician, "ReferringPhysicianName");
    if (r.study_description && *r.study_description) put(ds, DCM_StudyDescription, r.study_description, "StudyDescription");
    }
    if (r.content_date && *r.content_date) put(ds, DCM_ContentDate, r.content_date, "ContentDate");
    if (r.content_time && *r.content_time) put(ds, DCM_ContentTime, r.content_time, "ContentTime");

    // IHE AIR: the algorithm as contributing equipment.
    DcmItem *equipment = NULL;
    require(ds.findOrCreateSequenceItem(DCM_ContributingEquipmentSequence, equipment, -2), "ContributingEquipmentSequence");
    put(*equipment, DCM_Manufacturer, r.manufacturer, "ContributingEquipmentSequence/Manufacturer");
    put(*equipment, DCM_ManufacturerModelName, r.model_name, "ContributingEquipmentSequence/ManufacturerModelName");
    put(*equipment, DCM_SoftwareVersions, r.software_versions, "ContributingEquipmentSequence/SoftwareVersions");
    put(*equipment, DCM_DeviceUID, r.device_uid, "ContributingEquipmentSequence/DeviceUID");
    OFString contentDate, contentTime;
    ds.findAndGetOFString(DCM_ContentDate, contentDate);
    ds.findAndGetOFString(DCM_ContentTime, contentTime);
    put(*equipment, DCM_ContributionDateTime, (contentDate + contentTime).c_str(), "ContributionDateTime");
    put(*equipment, DCM_ContributionDescription, "Automated classification; not for diagnostic use", "ContributionDescription");
    DcmItem *purpose = NULL;
    require(equipment->findOrCreateSequenceItem(DCM_PurposeOfReferenceCodeSequence, purpose, -2), "PurposeOfReferenceCodeSequence");
    put(*purpose, DCM_CodeValue, "109102", "PurposeOfReferenceCodeSequence/CodeValue");
    put(*purpose, DCM_CodingSchemeDesignator, "DCM", "PurposeOfReferenceCodeSequence/CodingSchemeDesignator");
    put(*purpose, DCM_CodeMeaning, "Processing Equipment", "PurposeOfReferenceCodeSequence/CodeMeaning");
}

void fail(SKError *error, SKErrorCode code, const std::string &message) {
    if (!error) return;
    error->code = code;
    std::snprintf(error->message, sizeof(error->message), "%s", message.c_str());
}

} // namespace

extern "C" int sk_sr_write_classification(const SKSRReport *report, const char *path,
                                          char *sop_instance_uid_out, size_t capacity, SKError *error) {
    try {
        DcmFileFormat file;
        build(*report, file);
        OFCondition status = file.saveFile(path, EXS_LittleEndianExplicit);
        if (status.bad()) throw StepFailure{std::string("saving ") + path, status.text()};
        if (sop_instance_uid_out && capacity > 0) {
            OFString uid;
            file.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, uid);
            std::snprintf(sop_instance_uid_out, capacity, "%s", uid.c_str());
        }
        return 1;
    } catch (const StepFailure &f) {
        fail(error, SK_ERR_WRITE, f.step + ": " + f.message);
    } catch (const std::exception &e) {
        fail(error, SK_ERR_WRITE, e.what());
    }
    return 0;
}
