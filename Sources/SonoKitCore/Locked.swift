import Foundation

/// A value behind a lock, shared between threads: every read and change goes through
/// `withLock`, which holds the lock for the closure's duration (so a read-modify-write is one step).
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    public init(_ value: Value) { self.value = value }

    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
