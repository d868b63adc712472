import CNN
import DICOM
import Foundation
import Manifest
import Preprocess
import SonoKitCore
import SonoKitTestSupport
@testable import Training
import XCTest

/// The multi-class half of training: balanced class weights, every class in the training split,
/// the macro one-vs-rest AUC, the run files recording the task, and per-class inference with
/// Grad-CAM of a chosen class.
final class MulticlassTrainingTests: XCTestCase {

    func sample(_ k: Int, study: String = "") -> TrainingSample {
        TrainingSample(path: "", sopInstanceUID: "", frameIndex: 0, isPositive: false, classIndex: k, weight: 1, studyID: study, patientID: "")
    }

    // MARK: Class weights w_c = N / (K · N_c) (scikit-learn "balanced")
    // counts (4, 1, 3), N = 8, K = 3: w = (8/12, 8/3, 8/9); each class then weighs N/K = 8/3 in total.

    func testBalancedClassWeights() {
        let data = TrainingData(train: [0, 0, 0, 0, 1, 2, 2, 2].map { sample($0) }, validation: [], task: .multiclass,
                                classes: ["a", "b", "c"])
        let w = data.multiclassWeights()
        XCTAssertEqual(w[0], 8.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(w[1], 8.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(w[2], 8.0 / 9, accuracy: 1e-12)
        for (k, n) in [4, 1, 3].enumerated() { XCTAssertEqual(w[k] * Double(n), 8.0 / 3, accuracy: 1e-12) }
    }

    // MARK: Every class in the training split

    func resolved(_ rows: [(label: String, split: String)]) throws -> ResolvedManifest {
        let classes = try ClassDeclaration(classes: ["normal", "cyst", "solid"], positive: nil, task: nil)
        let images = rows.enumerated().map { i, row in
            ResolvedImage(line: i + 2, instance: ManifestInstance(sopInstanceUID: "sop\(i)", seriesInstanceUID: "se\(i)", studyInstanceUID: "st\(i)",
                                                                  path: "/x/\(i).dcm", isImage: true, isUltrasound: true, numberOfFrames: 1,
                                                                  studyKey: "k\(i)", patientKey: "p\(i)", patientID: nil),
                          label: row.label, classIndex: classes.classIndex(of: row.label)!, isPositive: false, patientID: "P\(i)",
                          studyID: "st\(i)", split: row.split, weight: 1, site: nil)
        }
        return ResolvedManifest(classes: classes, images: images)
    }

    func testTrainingSplitNeedsEveryClassAndNamesTheMissingOne() throws {
        let missing = try resolved([("normal", "train"), ("cyst", "train"), ("solid", "validation"), ("normal", "validation")])
        XCTAssertThrowsError(try TrainingData.make(missing, trainSplits: ["train"], validationSplit: "validation", frames: .uniform(1))) { error in
            XCTAssertTrue("\(error)".contains("'solid'") && "\(error)".contains("split 'train'"), "\(error)")
        }
        let complete = try resolved([("normal", "train"), ("cyst", "train"), ("solid", "train"), ("normal", "validation")])
        let data = try TrainingData.make(complete, trainSplits: ["train"], validationSplit: "validation", frames: .uniform(1))
        XCTAssertEqual(data.task, .multiclass)
        XCTAssertEqual(data.train.map(\.classIndex), [0, 1, 2])
        XCTAssertEqual(data.classes, ["normal", "cyst", "solid"])
    }

    // MARK: Macro one-vs-rest AUC, by hand
    // labels (0,0,1,1,2,2); class 0 scores: positives .6,.4 vs .5,.2,.1,.3 → 7/8;
    // class 1: positives .3,.5 vs .3,.4,.2,.3 → (1 + ½ + ½ + 4)/8 = 6/8 (ties count ½);
    // class 2: positives .7,.4 vs .1,.2,.2,.3 → 1. Macro = (0.875 + 0.75 + 1)/3 = 0.875
    // (scikit-learn roc_auc_score(multi_class="ovr", average="macro") gives 0.875 too).

    func testMacroOneVsRestAUCByHand() throws {
        let p: [[Double]] = [[0.6, 0.3, 0.1], [0.4, 0.4, 0.2], [0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4]]
        let auc = try TrainingLoop.macroOneVsRestAUC(labels: [0, 0, 1, 1, 2, 2], probabilities: p, classCount: 3)
        XCTAssertEqual(auc!, 0.875, accuracy: 1e-12)
        // A class absent from the set is left out of the mean; one class alone gives nil.
        // Without the last two studies: class 0 .6,.4 vs .5,.2 → 3/4; class 1 .3,.5 vs .3,.4 → (½ + 2)/4.
        XCTAssertEqual(try TrainingLoop.macroOneVsRestAUC(labels: [0, 0, 1, 1], probabilities: Array(p.prefix(4)), classCount: 3)!,
                       (0.75 + 0.625) / 2, accuracy: 1e-12)
        XCTAssertNil(try TrainingLoop.macroOneVsRestAUC(labels: [2, 2], probabilities: [p[4], p[5]], classCount: 3))
    }

    // MARK: Study-level validation: mean of frame probabilities, argmax accuracy
    // Study A (class 0): frames with logits (2,0,0) and (0,0,0); study B (class 1): (0,3,0); study C (class 2): (1,0,0) — wrong.

    func testMulticlassValidationAggregatesStudies() throws {
        let samples = [sample(0, study: "A"), sample(0, study: "A"), sample(1, study: "B"), sample(2, study: "C")]
        let logits: [Float] = [2, 0, 0, 0, 0, 0, 0, 3, 0, 1, 0, 0]
        let v = try TrainingLoop.evaluateMulticlass(logits: logits, classCount: 3, samples: samples)
        XCTAssertEqual(v.studyAccuracy!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(v.classProbabilities?.count, 4)
        let e2 = exp(2.0)
        XCTAssertEqual(v.probabilities[0], e2 / (e2 + 2), accuracy: 1e-6, "the frame's own class probability")
        let expectedLoss = (log(e2 + 2) - 2 + log(3.0) + (log(exp(3.0) + 2) - 3) + (log(exp(1.0) + 2) - 0)) / 4
        XCTAssertEqual(v.loss, expectedLoss, accuracy: 1e-6)
        XCTAssertNotNil(v.studyAUC)
        XCTAssertTrue(v.studies.isEmpty)
    }

    // MARK: Run files: the task is recorded; an old card (no task) is binary

    func testCardAndConfigRecordTheTaskAndOldFilesAreBinary() throws {
        let pre = PreprocessConfig(frames: .uniform(1), normalize: .unit, size: 32)
        var config = TrainingConfig(network: NetworkSpec(architecture: .small, headUnits: 8, widths: [4, 8], inputSize: 32), preprocess: pre)
        config.classes = ["benign", "malignant"]
        config.positiveClass = "malignant"
        let binaryJSON = String(decoding: try SonoKitJSON.encoder().encode(config), as: UTF8.self)
        XCTAssertFalse(binaryJSON.contains("task") || binaryJSON.contains("outputs") || binaryJSON.contains("ordinal"),
                       "a binary config.json is written as before multi-class existed (its checkpoint hash too)")
        XCTAssertEqual(config.classificationTask, .binary)
        config.classes = ["normal", "cyst", "solid"]
        config.positiveClass = ""
        config.task = .multiclass
        config.ordinal = false
        XCTAssertThrowsError(try config.validate(), "a multi-class config with a one-output network")
        config.network.outputs = 3
        XCTAssertNoThrow(try config.validate())
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: try JSONEncoder().encode(config))
        XCTAssertEqual(decoded, config)
        XCTAssertEqual(decoded.classificationTask, .multiclass)

        let (_, card) = try TrainedRunTests.freshRun(at: "")
        var object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(card)) as! [String: Any]
        XCTAssertEqual(object["task"] as? String, "binary")
        object.removeValue(forKey: "task")
        let old = try JSONDecoder().decode(ModelCard.self, from: try JSONSerialization.data(withJSONObject: object))
        XCTAssertEqual(old.task, .binary)
        XCTAssertEqual(old, card)
    }

    // MARK: Inference: N probabilities per frame summing to 1; Grad-CAM of a chosen class

    func testMulticlassRunPredictsClassProbabilitiesAndExplainsAChosenClass() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-mc-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let spec = NetworkSpec(architecture: .small, headUnits: 8, widths: [4, 8], inputSize: 32, outputs: 3)
        var rng = SplitMix64(seed: 2)
        let model = try spec.make(rng: &rng)
        let pre = PreprocessConfig(frames: .uniform(2), normalize: .unit, size: 32)
        let card = ModelCard(modelID: "", architecture: "small", weightsSHA256: "", weightsOrigin: "trained from scratch", frozenLayers: [],
                             preprocess: pre, preprocessHash: pre.hash, classes: ["normal", "cyst", "solid"], positiveClass: "",
                             manifestHash: "none", seed: 2, threshold: nil, softwareVersions: SoftwareVersions.all,
                             createdAt: "2026-01-01T00:00:00Z", network: spec, task: .multiclass, ordinal: false)
        let run = try TrainedRun.write(model: model, card: card, to: work.path)
        XCTAssertEqual(try TrainedRun(directory: work.path).card.task, .multiclass)
        let files = Array(TrainedRunTests.sampleFiles().prefix(2))
        let out = try run.predict(instances: files.map { InferenceInput(path: $0, studyKey: "S", patientKey: "P") }, progress: nil)
        XCTAssertGreaterThan(out.frames.count, 0)
        for f in out.frames {
            let p = try XCTUnwrap(f.classProbabilities)
            XCTAssertEqual(p.count, 3)
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-5)
            XCTAssertEqual(f.probability, p.max()!, "the largest class probability")
        }
        let frame = try run.preprocessor.process(try DicomFile(path: files[0])).frames[0]
        XCTAssertThrowsError(try run.probabilities(of: [frame]), "one probability per frame is a binary notion")
        let p = try run.classProbabilities(of: [frame])[0]
        let predicted = p.indices.max { p[$0] < p[$1] }!
        let maps = try (0..<3).map { try run.gradCAM(of: frame, classIndex: $0) }
        XCTAssertEqual(try run.gradCAM(of: frame), maps[predicted], "by default the predicted class is explained")
        XCTAssertTrue(maps[0] != maps[1] || maps[1] != maps[2], "the classes' maps differ")
        XCTAssertThrowsError(try run.gradCAM(of: frame, classIndex: 3))
    }

    // MARK: The loop learns K classes from cached features
    // Features = a noisy one-hot of the class (8 features, classes 0-2 light up features 0-2): a
    // linear head separates them, so 15 epochs must take the macro AUC and accuracy to 1 and the
    // loss far below ln 3 (chance). A loop that trained on the binary flag (false for every
    // multi-class sample) or mixed up labels and rows stays at chance.

    func testLoopLearnsThreeClassesFromCachedFeatures() throws {
        let pre = PreprocessConfig(frames: .uniform(1), normalize: .unit, size: 32)
        var config = TrainingConfig(network: NetworkSpec(architecture: .small, headUnits: 8, widths: [4, 8], inputSize: 32, outputs: 3),
                                    preprocess: pre)
        config.classes = ["a", "b", "c"]
        config.task = .multiclass
        config.epochs = 15
        config.batchSize = 8
        config.learningRate = 1e-2
        var rng = SplitMix64(seed: 3)
        let model = try config.network.make(rng: &rng)
        func make(_ count: Int, seed: UInt64) -> ([TrainingSample], [[Float]]) {
            var r = SplitMix64(seed: seed)
            var samples: [TrainingSample] = [], features: [[Float]] = []
            for i in 0..<count {
                let k = i % 3
                samples.append(TrainingSample(path: "", sopInstanceUID: "s\(i)", frameIndex: 0, isPositive: false, classIndex: k, weight: 1,
                                              studyID: "study\(i / 2)-\(k)", patientID: "p\(i)"))
                features.append((0..<8).map { j in (j == k ? 1 : 0) + r.nextUniform(limit: 0.3) })
            }
            return (samples, features)
        }
        let (train, trainFeatures) = make(60, seed: 1), (validation, validationFeatures) = make(30, seed: 2)
        let data = TrainingData(train: train, validation: validation, task: .multiclass, classes: config.classes)
        let loop = TrainingLoop(config: config, model: model, optimizer: Adam(learningRate: config.learningRate), data: data,
                                store: FrameStore(preprocessor: FramePreprocessor(config: pre)), progress: TrainingProgress(learningRate: config.learningRate),
                                callbacks: [], trainFeatures: trainFeatures, validationFeatures: validationFeatures)
        try loop.fit()
        let history = loop.progress.history
        XCTAssertEqual(history.count, 15)
        XCTAssertLessThan(history.last!.loss, 0.3, "\(history.map(\.loss))")
        XCTAssertEqual(history.last!.valAUC!, 1, accuracy: 1e-9)
        XCTAssertEqual(history.last!.valAccuracy!, 1, accuracy: 1e-9)
        XCTAssertTrue(Callbacks.historyCSV(history).hasPrefix("epoch,loss,val_loss,val_auc,val_acc,lr,seconds\n"))
    }
}
