import Foundation

/// `v` with exactly `decimals` digits after the point ("0.345"), as every report, plot label and
/// note writes a metric. One function for Evaluation's notes and everything Reports renders.
public func fixed(_ v: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", v) }
