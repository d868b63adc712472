import GRDB
import SonoKitCore

/// Makes every SQLite commit of a catalog a `CrashPoint` (the migrations, the secret, each ingest
/// batch, merges, frame hashes): `databaseWillCommit` runs from SQLite's commit hook, before the
/// transaction is durable, so a test run killed there leaves the catalog as it was after the
/// previous commit. Installed only when `SONOKIT_CRASH_AT` is set.
final class CrashPointCommitObserver: TransactionObserver {
    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseWillCommit() throws { CrashPoint.reached("catalog commit") }
    func databaseDidCommit(_ db: Database) {}
    func databaseDidRollback(_ db: Database) {}
}
