import Foundation
import SonoKitCore

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
}
