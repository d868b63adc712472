import Foundation

/// A real random field of independent standard normals on a regular grid of cell size `cell` over
/// [−extentX, extentX] × [−1, extentZ] cm (bmode.py's `Field2D`), sampled bilinearly: a smooth
/// texture whose correlation length is about one cell, fixed in tissue coordinates.
///
/// The grid has nx = ⌊2·extentX / cell⌋ + 3 columns and nz = ⌊(extentZ + 1) / cell⌋ + 3 rows,
/// drawn row by row; a point (x, z) maps to grid coordinates u = (x + extentX)/cell,
/// w = (z + 1)/cell, clamped to [0, n − 1.001] so that both neighbours exist.
struct TextureField: Sendable {
    let values: [Float]
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
/// function of (key, cell index): the first two uniforms u₁, u₂ of the stream
/// `SyntheticDraws(seed: key, path: [index])`, turned into a complex normal by the Box–Muller
/// transform with both branches, √(−ln(1 − u₁)) · (cos 2πu₂, sin 2πu₂) (|s|² is then exponential
/// with mean 1). Same field, same statistics, computed only where it is looked at.
struct ScattererField: Sendable {
    let key: UInt64
    let nx: Int, nz: Int
    let cell: Double, extentX: Double

    init(key: UInt64, cell: Double, extentX: Double, extentZ: Double) {
        self.key = key
        nx = Int(2 * extentX / cell) + 3
        nz = Int((extentZ + 1.0) / cell) + 3
        self.cell = cell
        self.extentX = extentX
    }

    /// The index of the cell nearest to (x, z) (numpy's `rint`: halves to even).
    @inline(__always)
    func nearestCell(_ x: Double, _ z: Double) -> Int {
        let u = min(max((x + extentX) / cell, 0), Double(nx) - 1.001)
        let w = min(max((z + 1.0) / cell, 0), Double(nz) - 1.001)
        return Int(w.rounded(.toNearestOrEven)) * nx + Int(u.rounded(.toNearestOrEven))
    }

    /// The scatterer of one cell.
    @inline(__always)
    func value(cell index: Int) -> (re: Float, im: Float) {
        var draws = SyntheticDraws(seed: key, path: [UInt64(index)])
        return draws.complexNormal()
    }
}

extension SyntheticDraws {
    /// A circular complex Gaussian with E|z|² = 1 (real and imaginary parts independent
    /// N(0, ½)): Box–Muller with both branches, √(−ln u₁)·(cos 2πu₂, sin 2πu₂), u₁ ∈ (0, 1].
    @inline(__always)
    mutating func complexNormal() -> (re: Float, im: Float) {
        let u1 = 1.0 - unit()
        let u2 = unit()
        let radius = (-Foundation.log(u1)).squareRoot()
        let angle = 2.0 * Double.pi * u2
        return (Float(radius * Foundation.cos(angle)), Float(radius * Foundation.sin(angle)))
    }
}
