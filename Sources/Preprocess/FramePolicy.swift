/// Which frames of an instance become samples.
///
/// Written as `all`, `first`, `middle`, `uniform:N` or `stride:K` (the CLI and JSON spelling).
/// With `n` frames (indices `0..<n`):
///
/// - `all`       — every frame.
/// - `first`     — frame 0.
/// - `middle`    — frame `n / 2` (integer division: the later of the two middles when `n` is even).
/// - `uniform:N` — the centres of `N` equal segments of the loop, `floor((2i + 1) n / (2N))` for
///   `i = 0..<N`. Consecutive picks are at least `n / N >= 1` frames apart, so no frame is chosen
///   twice, and the dark first frame of a cine is skipped when `N < n`. `uniform:1` is `middle`.
/// - `stride:K`  — frames `0, K, 2K, ...` below `n`.
///
/// A policy that asks for more frames than exist is clamped to the frames that exist, with a
/// warning recorded in the selection (never an error): a single-frame image under `uniform:8`
/// gives its one frame.
public enum FramePolicy: Hashable, Sendable {
    case all
    case first
    case middle
    case uniform(Int)
    case stride(Int)

    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case invalid(String)
        public var description: String {
            switch self {
            case .invalid(let text):
                return "frame policy '\(text)' is not one of all, first, middle, uniform:N, stride:K (N, K >= 1)"
            }
        }
    }

    /// Parses `all|first|middle|uniform:N|stride:K`.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch t {
        case "all": self = .all
        case "first": self = .first
        case "middle": self = .middle
        default:
            let parts = t.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let k = Int(parts[1]), k >= 1 else { throw ParseError.invalid(text) }
            switch parts[0] {
            case "uniform": self = .uniform(k)
            case "stride": self = .stride(k)
            default: throw ParseError.invalid(text)
            }
        }
    }

    /// The canonical spelling, the inverse of `init(parsing:)`.
    public var text: String {
        switch self {
        case .all: return "all"
        case .first: return "first"
        case .middle: return "middle"
        case .uniform(let n): return "uniform:\(n)"
        case .stride(let k): return "stride:\(k)"
        }
    }

    /// The frames chosen from an instance with `frameCount` frames, in increasing order, each once.
    public func select(frameCount n: Int) -> FrameSelection {
        guard n > 0 else {
            return FrameSelection(indices: [], warnings: ["the instance has no frames; nothing selected by '\(text)'"])
        }
        switch self {
        case .all:
            return FrameSelection(indices: Array(0..<n), warnings: [])
        case .first:
            return FrameSelection(indices: [0], warnings: [])
        case .middle:
            return FrameSelection(indices: [n / 2], warnings: [])
        case .uniform(let count):
            if count > n {
                return FrameSelection(indices: Array(0..<n),
                                      warnings: ["'\(text)' asked for \(count) frames but the instance has \(n); using all \(n)"])
            }
            var picks: [Int] = []
            for i in 0..<count {
                let index = ((2 * i + 1) * n) / (2 * count)
                if picks.last != index { picks.append(index) }
            }
            return FrameSelection(indices: picks, warnings: [])
        case .stride(let k):
            return FrameSelection(indices: Array(Swift.stride(from: 0, to: n, by: max(1, k))), warnings: [])
        }
    }
}

extension FramePolicy: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}

/// The outcome of a frame policy on one instance.
public struct FrameSelection: Codable, Equatable, Sendable {
    /// Chosen frame indices, increasing, without repeats.
    public let indices: [Int]
    /// What was clamped or could not be honoured.
    public let warnings: [String]
}

import DICOM
import Foundation
