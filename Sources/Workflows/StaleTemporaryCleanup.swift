import Foundation
import Preprocess
import SonoKitCore
import Training

extension WorkflowEvents {
    /// Removes the temporary files a killed earlier run left in `folder` and its subfolders (see
    /// `StaleTemporaries` for which ones: never a live writer's, on this machine or another) and
    /// says how many, in one warning line; silent when there were none.
    func removeStaleTemporaries(in folder: String) {
        let removed = StaleTemporaries.remove(in: folder, recursive: true)
        if !removed.isEmpty {
            warning("\(folder): removed \(removed.count) temporary file(s) left by an interrupted run")
        }
    }

    /// Removes the temporaries that killed writers left in a frame cache a command opens
    /// (`FrameCache.removeStaleTemporaries`), with one warning line when there were some.
    func removeStaleTemporaries(of cache: FrameCache) {
        report(cache.removeStaleTemporaries(), in: cache.directory.path, cache: "frame cache")
    }

    /// Removes the temporaries that killed writers left in a feature cache a command opens
    /// (`FeatureCache.removeStaleTemporaries`), with one warning line when there were some.
    func removeStaleTemporaries(of cache: FeatureCache) {
        report(cache.removeStaleTemporaries(), in: cache.directory.path, cache: "feature cache")
    }

    private func report(_ removed: [String], in folder: String, cache: String) {
        if !removed.isEmpty {
            warning("\(folder): removed \(removed.count) temporary file(s) left in the \(cache) by an interrupted run")
        }
    }
}
