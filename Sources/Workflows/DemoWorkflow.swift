import CNN
import Catalog
import Evaluation
import Foundation
import Manifest
import Preprocess
import SonoKitCore
import Synthesis
import Training

/// `demo`: the user's path on a synthetic cohort it generates (`sonokit synth`, under
/// `<output>/cohort`, reused when its cohort.json says it was made with the same parameters and
/// generator version) or on an existing export with labels.csv (`samples`, e.g. SampleStudies),
/// as the typed options of each workflow (generate, ingest, validate, split, train, evaluate,
/// predict) and the command line a user would type for it. The caller runs the steps in order
/// and shows each command line; `predictStep()` needs the splits file that the split step writes.
public struct DemoWorkflow {
    public struct Options: Sendable {
        /// Folder for the outputs.
        public var output = "demo-output"
        /// An existing export with labels.csv inside; nil: generate the cohort.
        public var samples: String?
        /// Patients of the generated cohort.
        public var cohortPatients = 200
        /// Seed of the generated cohort.
        public var cohortSeed: UInt64 = 1
        /// The network trained (`auto`: vgg16 when the ImageNet weights are installed, else small).
        public var model: DemoModel = .auto
        /// Binary (benign / malignant) or multi-class: the generated cohort gets the four classes
        /// of `multiclassCohortClasses`; with `samples`, the export's labels-multiclass.csv (its
        /// `# classes:` line declares the classes) is used instead of labels.csv.
        public var task: ClassificationTask = .binary
        public init() {}
    }

    /// The classes of a multi-class demo cohort, each with its own look (`CohortPlan.lesionKinds`
    /// with the last as the synthesiser's positive class): no lesion, a hyperechoic mass, an
    /// anechoic complex cyst with posterior enhancement, a hypoechoic mass with posterior shadowing.
    public static let multiclassCohortClasses = ["normal", "echogenic-mass", "complex-cyst", "shadowing-mass"]

    /// The network of the demo's training step.
    public enum DemoModel: String, CaseIterable, Sendable {
        case auto, vgg16, small
    }

    /// One step: its title, the command line shown for it, and the workflow's options.
    public struct Step<StepOptions> {
        public var number: Int
        public var title: String
        /// `sonokit <commandLine>` is what a user would type.
        public var commandLine: String
        public var options: StepOptions
    }

    public let options: Options
    /// The export the demo runs on (the generated cohort's folder, or `samples`).
    public let export: String
    public let labels: String
    public let catalog: String
    public let splits: String
    public let run: String
    public let reports: String
    /// True when the demo trains vgg16 on the frozen ImageNet base (`model` vgg16, or `auto` with
    /// the weights installed); false when it trains `small` from scratch.
    public let hasImageNet: Bool

    /// Step 1 when the demo generates its cohort (nil with `samples`).
    public let generate: Step<SynthWorkflow.Options>?
    public let ingest: Step<IngestWorkflow.Options>
    public let validate: Step<ManifestInput>
    public let split: Step<ManifestWorkflow.SplitOptions>
    public let train: Step<TrainWorkflow.Options>
    public let evaluate: Step<EvaluateWorkflow.Options>

    /// Checks that the samples are there (or the cohort's parameters are usable) and creates the
    /// output folder.
    public init(_ options: Options) throws {
        self.options = options
        let output = options.output
        func path(_ name: String) -> String { (output as NSString).appendingPathComponent(name) }
        if let samples = options.samples {
            export = samples
            generate = nil
            let name = options.task == .multiclass ? "labels-multiclass.csv" : "labels.csv"
            labels = (samples as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: labels) else {
                throw WorkflowError.failed("\(labels): not found; give --samples an export with \(name) inside (e.g. SampleStudies)")
            }
        } else {
            export = path("cohort")
            let parameters = options.task == .multiclass
                ? CohortParameters(patients: options.cohortPatients, seed: options.cohortSeed, classes: Self.multiclassCohortClasses)
                : CohortParameters(patients: options.cohortPatients, seed: options.cohortSeed)
            do { _ = try parameters.validated() } catch let error as SynthesisError { throw WorkflowError.invalidInput(error.description) }
            let synth = SynthWorkflow.Options(output: export, parameters: parameters)
            generate = Step(number: 1, title: "generate the synthetic cohort (\(options.cohortPatients) patients, seed \(options.cohortSeed)"
                                + (options.task == .multiclass ? ", \(Self.multiclassCohortClasses.count) classes)" : ")"),
                            commandLine: synth.commandLine, options: synth)
            labels = (export as NSString).appendingPathComponent("labels.csv")
        }
        let samples = export
        let first = generate == nil ? 1 : 2
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        catalog = path("catalog.sqlite")
        splits = path("splits.csv")
        run = path("run")
        reports = path("reports")
        // The class declaration: binary benign/malignant; multi-class, the generated cohort's four
        // classes on the command line, or the samples' labels-multiclass.csv's own `# classes:` line.
        let classes: ClassDeclaration?
        let classArguments: String
        switch (options.task, options.samples) {
        case (.binary, _):
            classes = try ClassDeclaration(classes: ["benign", "malignant"], positive: "malignant")
            classArguments = " --classes benign,malignant --positive malignant"
        case (.multiclass, nil):
            classes = try ClassDeclaration(classes: Self.multiclassCohortClasses, positive: nil, task: .multiclass)
            classArguments = " --classes \(Self.multiclassCohortClasses.joined(separator: ",")) --task multiclass"
        case (.multiclass, _):
            classes = nil
            classArguments = ""
        }
        let input = ManifestInput(manifest: labels, catalog: catalog, classes: classes)

        ingest = Step(number: first, title: "index the export", commandLine: "ingest \(samples) --catalog \(catalog)",
                      options: IngestWorkflow.Options(folders: [samples], catalog: catalog))
        validate = Step(number: first + 1, title: "validate the labels", commandLine: "manifest validate \(labels) --catalog \(catalog)\(classArguments)",
                        options: input)
        split = Step(number: first + 2, title: "split by patient (train / validation / test)",
                     commandLine: "manifest split \(labels) --catalog \(catalog)\(classArguments) --group patient_id --stratify label "
                         + "--ratios 0.6,0.2,0.2 --seed 7 -o \(splits)",
                     options: ManifestWorkflow.SplitOptions(input: input, plan: try SplitPlan.ratios([0.6, 0.2, 0.2]).validated(),
                                                           planText: "ratios=0.6,0.2,0.2", seed: 7, output: splits))

        // vgg16 (the reference recipe, frozen ImageNet base, feature cache) when its weights are
        // installed (or asked for), else the small network trained from scratch.
        let installed = (try? PretrainedWeights.vgg16ImageNet()) != nil
        switch options.model {
        case .auto: hasImageNet = installed
        case .small: hasImageNet = false
        case .vgg16:
            guard installed else {
                throw WorkflowError.invalidInput("--model vgg16: the ImageNet VGG16 weights are not installed; run scripts/weights/fetch-vgg16-imagenet.sh or use --model small")
            }
            hasImageNet = true
        }
        let recipe = hasImageNet ? Self.vgg16Recipe : Self.smallRecipe
        train = Step(number: first + 3, title: "train (\(hasImageNet ? "vgg16, frozen ImageNet base" : "small from scratch\(options.model == .auto ? ": no ImageNet weights installed" : "")"))",
                     commandLine: "train \(labels) --catalog \(catalog)\(classArguments) --splits \(splits) \(recipe.arguments) -o \(run)",
                     options: TrainWorkflow.Options(manifest: input, splits: splits, config: recipe.config, runDirectory: run))

        // Study-level evaluation of the test split, threshold fitted on the validation split.
        var evaluation = EvaluateWorkflow.Options(runDirectory: run)
        evaluation.split = "test"
        evaluation.catalog = catalog
        evaluate = Step(number: first + 4, title: "evaluate the test split (study level, CIs, calibration, HTML)",
                        commandLine: "evaluate \(run) --split test --catalog \(catalog)", options: evaluation)
    }

    /// The vgg16 recipe: the frozen ImageNet base with the GAP + Dense(256) + Dense(1) head, 10
    /// epochs of Adam at 1e-3, one frame per instance (`middle`): the base's features are the
    /// cost (one VGG16 forward pass per frame, cached), and the middle frame of a cine shows what
    /// its neighbours show, so a frame per instance keeps the demo within minutes on an AVX2-only
    /// CPU without losing what the network learns (measured on the 200-patient cohort: test AUC
    /// 0.967 [0.892, 0.990] with `middle` against 0.978 [0.926, 0.994] with `uniform:8`, 2.3
    /// times the frames).
    public static var vgg16Recipe: (config: TrainingConfig, arguments: String) {
        var preprocess = PreprocessConfig()
        preprocess.frames = .middle
        var config = TrainingConfig(network: NetworkSpec(architecture: .vgg16, inputSize: 224), preprocess: preprocess)
        config.epochs = 10
        return (config, "--model vgg16 --epochs 10 --frames middle")
    }

    /// The small recipe (from scratch, 64x64 inputs scaled to [0, 1]), chosen on the 200-patient
    /// cohort so that it generalises rather than memorises:
    /// - four frames per instance (`uniform:4`) and flip, gain and zoom augmentation: more and
    ///   more varied samples for a network that learns every weight;
    /// - batch 8 and Adam at 3e-4: about 50 updates per epoch, so the batch-norm running statistics
    ///   (momentum 0.99, as Keras) settle within a few epochs;
    /// - dropout 0.3 before the output layer;
    /// - early stopping after 8 epochs without a better `val_auc`, LR halved after 3, and the best
    ///   epoch's weights kept (evaluate and predict use the `best` checkpoint). `val_auc`, not
    ///   `val_loss`, decides: while the running statistics still lag the weights, the validation
    ///   loss measures that lag (it rose from 0.7 to 2.2 while `val_auc` reached 1.0) and stopped
    ///   the run at epoch 1 (test AUC 0.66).
    /// Measured: test AUC 0.944 [0.863, 0.979] at seed 1; 0.936 and 0.989 at seeds 2 and 3 of a
    /// lighter variant (flip only, no dropout).
    public static var smallRecipe: (config: TrainingConfig, arguments: String) {
        let preprocess = PreprocessConfig(frames: .uniform(4), normalize: .unit, size: 64)
        var config = TrainingConfig(network: NetworkSpec(architecture: .small, headDropout: 0.3, inputSize: 64), preprocess: preprocess)
        config.epochs = 25
        config.batchSize = 8
        config.learningRate = 3e-4
        config.augmentation = [.flip, .gain, .zoom]
        config.seed = 1
        config.monitor = .valAUC
        config.earlyStoppingPatience = 8
        config.plateauPatience = 3
        return (config, "--model small --size 64 --normalize unit --frames uniform:4 --epochs 25 --batch 8 --lr 3e-4 "
                    + "--augment flip,gain,zoom --dropout 0.3 --monitor val_auc --patience 8 --lr-patience 3 --seed 1")
    }

    /// A run folder left by an earlier demo is removed before training (a new run, not a resume).
    public func removePreviousRun() throws {
        if FileManager.default.fileExists(atPath: (run as NSString).appendingPathComponent("config.json")) {
            try FileManager.default.removeItem(atPath: run)
        }
    }

    /// Step 6: predict every study of the test split (the files of its patients' studies), with
    /// HTML pages and DICOM SRs. Needs the splits file of step 3.
    public func predictStep() throws -> Step<PredictWorkflow.Options> {
        let testFiles = try Self.testSplitFiles(labels: labels, splits: splits, catalog: catalog, classes: validate.options.classes)
        var predict = PredictWorkflow.Options(runDirectory: run, inputs: testFiles.paths, output: reports)
        predict.html = true
        predict.sr = true
        return Step(number: evaluate.number + 1, title: "predict the \(testFiles.studies) studies of the test split (HTML pages, DICOM SR)",
                    commandLine: "predict \(run) <\(testFiles.paths.count) files of the test split> -o \(reports) --html --sr",
                    options: predict)
    }

    /// The image files of the studies whose patients the splits file puts in "test" (studies
    /// named by `study_uid` in the manifest, resolved through the catalog). `classes` as the
    /// validate step declares them (nil: the manifest's `# classes:` line).
    public static func testSplitFiles(labels: String, splits: String, catalog: String,
                                      classes: ClassDeclaration?) throws -> (paths: [String], studies: Int) {
        let assignment = try SplitsFile.read(path: splits)
        let manifest = try Manifest.load(path: labels, classes: classes)
        let store = try Catalog(path: catalog)
        var paths: [String] = [], studies = 0
        for row in manifest.rows {
            guard let patient = row.patientID,
                  assignment.split(ofManifestPatient: patient, patientKey: store.pseudonymizer.patientKey) == "test",
                  case .studyUID(let uid)? = row.reference else { continue }
            let files = try store.instances(forStudy: uid).filter(\.isImage).map(\.path)
            if !files.isEmpty { studies += 1; paths += files }
        }
        guard !paths.isEmpty else { throw WorkflowError.failed("\(splits): no study of the test split found in \(catalog)") }
        return (paths.sorted(), studies)
    }
}
