import CNN
import Foundation

/// The standard callbacks. Their memory lives in `TrainingProgress` (saved with checkpoints), so
/// a resumed run continues with the same best value, patience counters and learning rate.
public enum Callbacks {
    /// Whether `value` improves on `best` for the monitored metric (strictly; nil never improves).
    static func improves(_ value: Double?, on best: Double?, monitor: TrainingConfig.Monitor) -> Bool {
        guard let value, value.isFinite else { return false }
        guard let best else { return true }
        return monitor.maximize ? value > best : value < best
    }

    static func monitored(_ p: TrainingProgress, _ m: TrainingConfig.Monitor) -> Double? {
        m == .valAUC ? p.valAUC : p.valLoss
    }

    /// Checkpoint best: at `validationEnd`, when the monitored metric improves, writes the weights
    /// to checkpoints/best.safetensors (atomically) and records the value and epoch; otherwise
    /// counts an epoch without improvement (read by early stopping and LR on plateau).
    public static func checkpointBest(run: RunDirectory) -> TrainingCallback {
        TrainingCallback("checkpoint-best") { event, loop in
            guard event == .validationEnd else { return }
            let m = loop.config.monitor
            let value = monitored(loop.progress, m)
            if improves(value, on: loop.progress.bestValue, monitor: m) {
                loop.progress.bestValue = value
                loop.progress.bestEpoch = loop.progress.epoch + 1
                loop.progress.epochsWithoutImprovement = 0
                loop.progress.plateauWait = 0
                try FileManager.default.createDirectory(at: run.checkpoints, withIntermediateDirectories: true)
                try TrainedRun.saveWeightsAtomically(loop.model, to: run.bestWeights, metadata: [
                    "role": "best", "epoch": "\(loop.progress.epoch + 1)", m.rawValue: "\(value!)",
                ])
            } else {
                loop.progress.epochsWithoutImprovement += 1
                loop.progress.plateauWait += 1
            }
        }
    }

    /// Checkpoint last: at every `epochEnd`, every `everyBatches` batches inside an epoch, and at
    /// `fitEnd`.
    public static func checkpointLast(run: RunDirectory, everyBatches: Int?) -> TrainingCallback {
        TrainingCallback("checkpoint-last") { event, loop in
            switch event {
            case .epochEnd, .fitEnd:
                try Checkpoint.writeLast(loop, run: run)
            case .batchEnd:
                if let n = everyBatches, loop.progress.batchesDone % n == 0, loop.progress.batchesDone < loop.batchesPerEpoch {
                    try Checkpoint.writeLast(loop, run: run)
                }
            default: break
            }
        }
    }

    /// Early stopping: at `validationEnd` (after checkpoint best), when the monitored metric has not
    /// improved for `patience` epochs, records the decision in the progress — the checkpoint of
    /// this epoch carries it, so a resumed run stops too — and the loop ends after this epoch.
    public static func earlyStopping(patience: Int) -> TrainingCallback {
        TrainingCallback("early-stopping") { event, loop in
            if event == .validationEnd, loop.progress.epochsWithoutImprovement >= patience {
                loop.progress.stopReason = "early stopping: \(loop.config.monitor.rawValue) did not improve for \(patience) epoch(s); best at epoch \(loop.progress.bestEpoch.map(String.init) ?? "-")"
            }
            if event == .epochEnd, let reason = loop.progress.stopReason { throw TrainingControl.stop(reason: reason) }
        }
    }

    /// Reduce LR on plateau: at `validationEnd`, after `patience` epochs without improvement,
    /// lr ← lr · factor (never below `minimum`), and the wait starts again.
    public static func reduceLearningRateOnPlateau(patience: Int, factor: Float, minimum: Float = 1e-7) -> TrainingCallback {
        TrainingCallback("reduce-lr-on-plateau") { event, loop in
            guard event == .validationEnd, loop.progress.plateauWait >= patience else { return }
            loop.progress.learningRate = max(minimum, loop.progress.learningRate * factor)
            loop.progress.plateauWait = 0
        }
    }

    /// CSV history: at `epochEnd` and `fitEnd`, rewrites history.csv from the progress (so a resumed run's
    /// file has exactly one row per finished epoch): `epoch,loss,val_loss,val_auc,lr,seconds`.
    public static func csvHistory(run: RunDirectory) -> TrainingCallback {
        TrainingCallback("csv-history") { event, loop in
            guard event == .epochEnd || event == .fitEnd else { return }
            try writeAtomically(Data(historyCSV(loop.progress.history).utf8), to: run.history)
        }
    }

    /// Multi-class runs (rows with `valAccuracy`) get a `val_acc` column after `val_auc` (the macro
    /// one-vs-rest AUC there); binary files keep exactly their columns.
    public static func historyCSV(_ rows: [HistoryRow]) -> String {
        func g(_ v: Double) -> String { String(format: "%.6g", v) }
        let accuracy = rows.contains { $0.valAccuracy != nil }
        var text = accuracy ? "epoch,loss,val_loss,val_auc,val_acc,lr,seconds\n" : "epoch,loss,val_loss,val_auc,lr,seconds\n"
        for r in rows {
            text += "\(r.epoch),\(g(r.loss)),\(g(r.valLoss)),\(r.valAUC.map(g) ?? ""),"
                + (accuracy ? "\(r.valAccuracy.map(g) ?? "")," : "")
                + "\(g(r.learningRate)),\(String(format: "%.3f", r.seconds))\n"
        }
        return text
    }

    /// Stops on a NaN or infinite batch loss with a message that says what to try.
    public static func terminateOnNaN() -> TrainingCallback {
        TrainingCallback("terminate-on-nan") { event, loop in
            guard event == .batchEnd, !loop.progress.lastBatchLoss.isFinite else { return }
            throw TrainingError.nonFiniteLoss(epoch: loop.progress.epoch + 1, batch: loop.progress.batchesDone, loss: loop.progress.lastBatchLoss)
        }
    }

    /// Progress: a line per batch on a terminal (redrawn: epoch, batch, loss, images/s, ETA of the
    /// epoch), and a line per epoch (loss, val_loss, val_auc, lr, seconds) always.
    public static func progress(write: @escaping (String) -> Void, isTerminal: Bool) -> TrainingCallback {
        TrainingCallback("progress") { event, loop in
            let p = loop.progress
            switch event {
            case .batchEnd where isTerminal:
                let rate = Double(p.epochSamples) / max(p.epochSeconds, 1e-9)
                let left = Double(loop.data.train.count - p.epochSamples) / max(rate, 1e-9)
                write("\r\u{1B}[K" + "epoch \(p.epoch + 1)/\(loop.config.epochs) batch \(p.batchesDone)/\(loop.batchesPerEpoch)  loss \(String(format: "%.4f", p.lastBatchLoss))  \(String(format: "%.1f", rate)) images/s  ETA \(Int(left.rounded()))s")
            case .epochEnd:
                guard let r = p.history.last else { return }
                let accuracy = r.valAccuracy.map { "  val_acc \(String(format: "%.4f", $0))" } ?? ""
                write((isTerminal ? "\r\u{1B}[K" : "") + "epoch \(r.epoch)/\(loop.config.epochs)  loss \(String(format: "%.4f", r.loss))  val_loss \(String(format: "%.4f", r.valLoss))  val_auc \(r.valAUC.map { String(format: "%.4f", $0) } ?? "-")\(accuracy)  lr \(String(format: "%.3g", r.learningRate))  \(String(format: "%.1f", r.seconds))s\n")
            case .fitEnd:
                if let reason = p.stopReason { write("stopped: \(reason)\n") }
            default: break
            }
        }
    }
}
