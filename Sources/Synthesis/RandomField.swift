import Foundation

/// A real random field of independent standard normals on a regular grid of cell size `cell` over
/// [−extentX, extentX] × [−1, extentZ] cm (bmode.py's `Field2D`), sampled bilinearly: a smooth
/// texture whose correlation length is about one cell, fixed in tissue coordinates.
///
/// The grid has nx = ⌊2·extentX / cell⌋ + 3 columns and nz = ⌊(extentZ + 1) / cell⌋ + 3 rows,
/// drawn row by row; a point (x, z) maps to grid coordinates u = (x + extentX)/cell,
/// w = (z + 1)/cell, clamped to [0, n − 1.001] so that both neighbours exist.
struct TextureField: Sendable {
    var values: [Float]
    let nx: Int, nz: Int
    let cell: Double, extentX: Double

    init(cell: Double, extentX: Double, extentZ: Double, draws: inout SyntheticDraws) {
        nx = Int(2 * extentX / cell) + 3
        nz = Int((extentZ + 1.0) / cell) + 3
        self.cell = cell
        self.extentX = extentX
        var v = [Float](repeating: 0, count: nx * nz)
        for i in v.indices { v[i] = Float(draws.normal()) }
        values = v
    }

    /// The bilinear interpolation of the grid at (x, z).
    @inline(__always)
    func bilinear(_ x: Double, _ z: Double) -> Double {
        let u = min(max((x + extentX) / cell, 0), Double(nx) - 1.001)
        let w = min(max((z + 1.0) / cell, 0), Double(nz) - 1.001)
        let iu = Int(u), iw = Int(w)   // u, w ≥ 0: truncation is the floor
        let fu = u - Double(iu), fw = w - Double(iw)
        return values.withUnsafeBufferPointer { v in
            let i = iw * nx + iu
            let top = (1 - fu) * Double(v[i]) + fu * Double(v[i + 1])
            let bottom = (1 - fu) * Double(v[i + nx]) + fu * Double(v[i + nx + 1])
            return (1 - fw) * top + fw * bottom
        }
    }
}

/// The complex scatterer field: a circular complex Gaussian (real and imaginary parts independent
/// N(0, ½), so E|s|² = 1) per cell of a fine grid (bmode.py: cell 0.012 cm, sampled by nearest
/// neighbour, so that each scatterer keeps its identity when the tissue moves in a cine loop).
///
/// bmode.py draws the whole rectangle (about 3 million cells for a 16 cm C5-2 fan) although a
/// frame reads only the ~250,000 cells under its polar samples. Here a cell's value is a pure
/// function of (key, cell index): `SyntheticDraws(seed: key, path: [index]).complexNormal()`
/// (computed inline, the same numbers; a test checks it). Same field, same statistics, computed
/// only where it is looked at.
struct ScattererField: Sendable {
    let key: UInt64
    let nx: Int, nz: Int
    let cell: Double, extentX: Double
    /// SplitMix64(seed: key).next(): the first step of every cell's stream.
    private let keyState: UInt64

    init(key: UInt64, cell: Double, extentX: Double, extentZ: Double) {
        self.key = key
        nx = Int(2 * extentX / cell) + 3
        nz = Int((extentZ + 1.0) / cell) + 3
        self.cell = cell
        self.extentX = extentX
        keyState = Self.splitMixOutput(key &+ Self.golden)
    }

    /// The index of the cell nearest to (x, z) (numpy's `rint`: halves to even).
    @inline(__always)
    func nearestCell(_ x: Double, _ z: Double) -> Int {
        let u = min(max((x + extentX) / cell, 0), Double(nx) - 1.001)
        let w = min(max((z + 1.0) / cell, 0), Double(nz) - 1.001)
        return Int(w.rounded(.toNearestOrEven)) * nx + Int(u.rounded(.toNearestOrEven))
    }

    static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// SplitMix64's output function of a state (SonoKitCore.SplitMix64.next after the increment).
    @inline(__always)
    static func splitMixOutput(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The scatterer of one cell: SyntheticDraws(seed: key, path: [index]).complexNormal(), with
    /// the stream's SplitMix64 steps written out so that they inline.
    @inline(__always)
    func value(cell index: Int) -> (re: Float, im: Float) {
        var state = Self.splitMixOutput((keyState ^ (UInt64(index) &* Self.golden)) &+ Self.golden)
        while true {
            // unit() = (next >> 11)·2⁻⁵³; through Int64 (exact below 2⁵³), the fast conversion.
            state &+= Self.golden
            let u = 2 * (Double(Int64(bitPattern: Self.splitMixOutput(state) >> 11)) * 0x1p-53) - 1
            state &+= Self.golden
            let v = 2 * (Double(Int64(bitPattern: Self.splitMixOutput(state) >> 11)) * 0x1p-53) - 1
            if let z = SyntheticDraws.polarComplexNormal(u, v) { return z }
        }
    }
}

extension SyntheticDraws {
    /// A circular complex Gaussian with E|z|² = 1 (real and imaginary parts independent N(0, ½))
    /// by Marsaglia's polar method: uniform (u, v) in (−1, 1)², redrawn until 0 < s = u² + v² < 1,
    /// then z = (u, v)·√(−ln s / s) (Box–Muller without the sine and cosine).
    @inline(__always)
    mutating func complexNormal() -> (re: Float, im: Float) {
        while true {
            let u = 2 * unit() - 1, v = 2 * unit() - 1
            if let z = Self.polarComplexNormal(u, v) { return z }
        }
    }

    /// The polar method's step: nil when (u, v) is rejected.
    @inline(__always)
    static func polarComplexNormal(_ u: Double, _ v: Double) -> (re: Float, im: Float)? {
        let x = Float(u), y = Float(v)   // single precision: ample for speckle and noise, and a faster log
        let s = x * x + y * y
        guard s > 0, s < 1 else { return nil }
        let f = (-Foundation.log(s) / s).squareRoot()
        return (x * f, y * f)
    }
}
