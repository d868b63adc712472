import Foundation

/// Renders the frames of one fan of one tissue scene (bmode.py's `render_frames`), the way a
/// scanner forms a B-mode image:
///
/// 1. The polar grid: nR = round(depth / 0.02 cm) samples along each of nT beams,
///    nT = clamp(2α(r₀ + depth/2) / 0.05 cm, 128, 320), sample (i, j) at depth dᵢ = (i + ½)·0.02
///    on the beam at θⱼ = −α + (j + ½)·2α/nT; its tissue point is X = (r₀ + d) sin θ,
///    Z = (r₀ + d) cos θ − r₀, moved by the cine motion (X − oₓ, Z − o_z, d − o_z) with
///    oₓ = Aₓ sin t, o_z = A_z sin(t + 0.7), t = 2πk/n + φ for frame k of n.
/// 2. RF = e(X, Z, d) · s: the tissue's echogenicity times the complex scatterer at the nearest
///    cell of a field fixed in tissue coordinates (so speckle moves with the tissue); in a cine
///    loop frame k > 0 uses √(1 − δ²)·s + δ·s′ with a fresh field s′ (decorrelation δ).
/// 3. Posterior shadowing / enhancement: behind a lesion (factor −shadow) and a cyst (+0.55),
///    every sample deeper on the beam than the structure's far edge is multiplied by
///    1 + factor·w, w the beam's chord length through the structure relative to 0.6 of the
///    longest chord (clamped to [0, 1]) smoothed across beams by a Gaussian (σ = 1.5 beams), so
///    the shadow fades at the structure's flanks and fans out with the beams.
/// 4. The point-spread function: separable Gaussians, σ = 1.3 samples axially and 0.9 beams
///    laterally (truncated at ⌈3σ⌉, normalised, mirrored at the edges); the envelope |RF| of a
///    sum of many random phasors is Rayleigh distributed (fully developed speckle, std/mean =
///    √(4/π − 1) ≈ 0.523).
/// 5. Gain after TGC, in dB: −μ·d + 4·exp(−((d − d_focus)/(depth/4))²) − 6·exp(−d/0.35)
///    (net attenuation, focal bump, near-field dip), times the apodisation
///    1 − 0.35·smoothstep(0.88, 1, |θ|/α) at the fan's edges; then thermal noise
///    (|env + n|, n complex Gaussian with σ = 0.05·noise floor per part).
/// 6. Log compression: grey = target + (20 log₁₀(env + 10⁻⁶) − m)·255/DR, clamped to [0, 255],
///    m the median of frame 0's log image over depths 30–60 % (so the parenchyma sits near the
///    target grey whatever the attenuation).
/// 7. Scan conversion (`ScanConversion`): each fan pixel samples the polar image bilinearly in
///    (r, θ).
///
/// Random streams, all from the scene's seed: `SyntheticDraws(seed: seed, path: [0])` for the
/// scatterer field's key and the two texture fields, `[1, k]` for frame k's thermal noise and
/// `[2, k]` for its fresh speckle, so that a frame does not depend on how many came before.
///
/// The hot loops work on flat Float buffers; everything that does not change between frames
/// (the grid's depths and beam directions, gain, apodisation, the texture fields, the
/// scan-conversion weights) is computed once per fan.
struct FanRenderer: Sendable {
    static let sampleSpacingCm = 0.02

    let geometry: FanGeometry
    let scene: TissueScene
    /// Depth samples per beam, beams.
    let nR: Int, nT: Int
    /// dᵢ (cm) and θⱼ (radians), with sin θⱼ and cos θⱼ.
    let depths: [Double], angles: [Double]
    let sinAngles: [Double], cosAngles: [Double]
    /// Gain after TGC per depth sample (linear) and apodisation per beam.
    let depthGain: [Float], apodisation: [Float]
    let scatterers: ScattererField
    /// The parenchyma's texture fields (cells 0.55 and 0.16 cm); `var` so that a test can make the
    /// tissue homogeneous.
    var texture1: TextureField, texture2: TextureField

    init(geometry: FanGeometry, scene: TissueScene) {
        self.geometry = geometry
        self.scene = scene
        let probe = geometry.probe
        let r0 = probe.faceRadiusCm, half = probe.halfAngle, depth = geometry.depthCm
        let dd = Self.sampleSpacingCm
        nR = Int((depth / dd).rounded())
        nT = Int(min(max(2 * half * (r0 + depth / 2) / 0.05, 128), 320))
        depths = (0..<nR).map { (Double($0) + 0.5) * dd }
        let beamStep = 2 * half / Double(nT)
        angles = (0..<nT).map { -half + (Double($0) + 0.5) * beamStep }
        sinAngles = angles.map { sin($0) }
        cosAngles = angles.map { cos($0) }
        let extentX = (r0 + depth) * sin(half) + 1.0
        var draws = SyntheticDraws(seed: scene.seed, path: [0])
        scatterers = ScattererField(key: UInt64(draws.integer(below: Int.max)), cell: 0.012, extentX: extentX, extentZ: depth + 1.0)
        texture1 = TextureField(cell: 0.55, extentX: extentX, extentZ: depth + 1.0, draws: &draws)
        texture2 = TextureField(cell: 0.16, extentX: extentX, extentZ: depth + 1.0, draws: &draws)
        let focus = scene.focusCm, attenuation = scene.attenuationDbPerCm
        depthGain = depths.map { d in
            let db = -attenuation * d + 4.0 * exp(-pow((d - focus) / (0.25 * depth), 2)) - 6.0 * exp(-d / 0.35)
            return Float(pow(10, db / 20))
        }
        apodisation = angles.map { Float(1 - 0.35 * smoothstep(0.88, 1.0, abs($0) / half)) }
    }

    // MARK: Tissue

    /// Amplitude reflectivity of the tissue at lateral x, depth z (Cartesian) and d (along the
    /// beam), bmode.py's `_echogenicity`: layers from the skin down (skin 1.9; fat 0.38 with
    /// texture and bright septa 1.5; muscle with striations 0.55 + 0.6·max(0, sin)⁶; a dark gap 0.3;
    /// the capsule 2.3), then the textured parenchyma P·(1 + A·clamp(t₁, ±2.5) + 0.08·t₂) with,
    /// deeper than the capsule, the diaphragm (2.6, and 0.55× below it), vessels (0.03, walls 2.2),
    /// a cyst (0), the lesion's halo (1.9) and interior (contrast·P·(1 + 0.35·t₂)).
    func echogenicity(x: Double, z: Double, d: Double) -> Double {
        let inLesion = scene.lesion?.inside(x, z) ?? false
        let inCyst = scene.cyst.map { $0.rhoSquared(x, z) < 1 } ?? false
        return echogenicity(x: x, z: z, d: d, inLesion: inLesion, inCyst: inCyst)
    }

    /// `echogenicity(x:z:d:)` with the lesion and cyst membership of (x, z) already known (the
    /// render loop needs them for the posterior shadows too).
    @inline(__always)
    func echogenicity(x: Double, z: Double, d: Double, inLesion: Bool, inCyst: Bool) -> Double {
        let sc = scene
        // Deeper than every layer boundary can reach (the common case): skip the waves.
        if d <= layersEnd {
            let fatBottom = sc.fatBottom + sc.fatWave.at(x)
            let muscleBottom = sc.muscleBottom + sc.muscleWave.at(x)
            let capsuleBottom = muscleBottom + (sc.capsule - sc.muscleBottom)
            if d < sc.skin { return 1.9 }
            if d < fatBottom {
                for septum in sc.septa where abs(d - (septum.depth + septum.slope * x + septum.wave.at(x))) < 0.035 {
                    return 1.5
                }
                return max(0, 0.38 * (1 + 0.25 * texture2.bilinear(x * 1.7, z * 1.7)))
            }
            if d < muscleBottom {
                let s = max(0.0, sin(2 * Double.pi * (d + sc.striationTilt * x) / sc.striationPeriod))
                let s2 = s * s
                return 0.55 + 0.6 * s2 * s2 * s2
            }
            if d < capsuleBottom { return 0.3 }
            if d < capsuleBottom + 0.07 { return 2.3 }
            if !(d > capsuleBottom + 0.07) { return max(parenchyma(x, z), 0) }
        }
        var e = parenchyma(x, z)
        if let diaphragm = sc.diaphragm {
            let zd = diaphragm.z0 + diaphragm.curvature * x * x
            if abs(z - zd) < 0.09 { e = 2.6 } else if z >= zd + 0.09 { e *= 0.55 }
        }
        for v in sc.vessels {
            let rho2 = v.rhoSquared(x, z)
            if v.wall > 0, rho2 >= 1.0, rho2 < v.wallEdge * v.wallEdge { e = 2.2 }
            if rho2 < 1.0 { e = 0.03 }
        }
        if inCyst { e = 0 }
        if let lesion = sc.lesion {
            if lesion.halo, lesion.inside(x, z, grow: 0.08) { e = 1.9 }
            if inLesion { e = lesion.contrast * sc.parenchymaLevel * (1 + 0.35 * texture2.bilinear(x * 2.3, z * 2.3)) }
        }
        return max(e, 0)
    }

    /// The textured parenchyma P·(1 + A·clamp(t₁, ±2.5) + 0.08·t₂).
    @inline(__always)
    func parenchyma(_ x: Double, _ z: Double) -> Double {
        let t1 = min(max(texture1.bilinear(x, z), -2.5), 2.5)
        return scene.parenchymaLevel * (1 + scene.textureAmplitude * t1 + 0.08 * texture2.bilinear(x, z))
    }

    /// A depth (cm) below which no layer boundary lies for any x: the deepest the capsule's lower
    /// edge can be, 0.07 + capsule + |muscle wave amplitude| (and the skin and fat above it).
    var layersEnd: Double {
        let sc = scene
        return max(sc.skin, sc.fatBottom + abs(sc.fatWave.amplitude), sc.muscleBottom + abs(sc.muscleWave.amplitude),
                   sc.capsule + abs(sc.muscleWave.amplitude) + 0.07)
    }

    // MARK: Frames

    /// The tissue offset of frame k of n (cm): (oₓ, o_z).
    func motionOffset(frame k: Int, of n: Int) -> (x: Double, z: Double) {
        let m = scene.motion
        let t = 2 * Double.pi * Double(k) / Double(max(1, n)) + m.phase
        return (m.amplitudeX * sin(t), m.amplitudeZ * sin(t + 0.7))
    }

    /// The envelope of frame k of n on the polar grid (row i = depth sample, column j = beam),
    /// after PSF, gain and thermal noise, before log compression (steps 1–5 of the type's doc).
    func envelope(frame k: Int, of n: Int) -> [Float] {
        var (re, im) = radioFrequency(frame: k, of: n)
        let axial = Self.gaussianKernel(sigma: 1.3), lateral = Self.gaussianKernel(sigma: 0.9)
        Self.convolveAxial(&re, rows: nR, columns: nT, kernel: axial)
        Self.convolveAxial(&im, rows: nR, columns: nT, kernel: axial)
        Self.convolveLateral(&re, rows: nR, columns: nT, kernel: lateral)
        Self.convolveLateral(&im, rows: nR, columns: nT, kernel: lateral)
        return detect(re, im, frame: k)
    }

    /// Steps 1–3: echogenicity × scatterers on the polar grid, with the posterior shadows and
    /// enhancement applied; (real, imaginary) parts.
    @inline(never)
    func radioFrequency(frame k: Int, of n: Int) -> (re: [Float], im: [Float]) {
        let count = nR * nT
        let (ox, oz) = motionOffset(frame: k, of: n)
        let r0 = geometry.probe.faceRadiusCm
        let sinT = sinAngles, cosT = cosAngles
        var rfRe = [Float](repeating: 0, count: count), rfIm = [Float](repeating: 0, count: count)
        var echo = [Float](repeating: 0, count: count)
        let lesion = scene.lesion, cyst = scene.cyst
        var lesionMask = [Bool](repeating: false, count: lesion == nil ? 0 : count)
        var cystMask = [Bool](repeating: false, count: cyst == nil ? 0 : count)
        let deepLimit = scene.capsule + 0.07   // bmode.py's `_behind_masks` uses the mean capsule depth
        let decorrelation = k > 0 ? scene.motion.decorrelation : 0
        var fresh = SyntheticDraws(seed: scene.seed, path: [2, UInt64(k)])
        let keep = Float((1 - decorrelation * decorrelation).squareRoot()), mix = Float(decorrelation)
        let field = scatterers

        echo.withUnsafeMutableBufferPointer { e in
            rfRe.withUnsafeMutableBufferPointer { re in
                rfIm.withUnsafeMutableBufferPointer { im in
                    for i in 0..<nR {
                        let d0 = depths[i], r = r0 + d0, d = d0 - oz
                        for j in 0..<nT {
                            let x = r * sinT[j] - ox, z = r * cosT[j] - r0 - oz
                            let idx = i * nT + j
                            let inLesion = lesion?.inside(x, z) ?? false
                            let inCyst = cyst.map { $0.rhoSquared(x, z) < 1 } ?? false
                            e[idx] = Float(echogenicity(x: x, z: z, d: d, inLesion: inLesion, inCyst: inCyst))
                            var s = field.value(cell: field.nearestCell(x, z))
                            if decorrelation > 0 {
                                let f = fresh.complexNormal()
                                s = (keep * s.re + mix * f.re, keep * s.im + mix * f.im)
                            }
                            re[idx] = s.re
                            im[idx] = s.im
                            if d > deepLimit {
                                if inLesion { lesionMask[idx] = true }
                                if inCyst { cystMask[idx] = true }
                            }
                        }
                    }
                }
            }
        }
        if let lesion { applyBehind(mask: lesionMask, factor: -lesion.shadow, to: &echo) }
        if cyst != nil { applyBehind(mask: cystMask, factor: 0.55, to: &echo) }
        for idx in 0..<count {
            rfRe[idx] *= echo[idx]
            rfIm[idx] *= echo[idx]
        }
        return (rfRe, rfIm)
    }

    /// Steps 4 (after the PSF) and 5: |RF|·gain·apodisation, then |· + thermal noise|.
    @inline(never)
    func detect(_ rfRe: [Float], _ rfIm: [Float], frame k: Int) -> [Float] {
        var noise = SyntheticDraws(seed: scene.seed, path: [1, UInt64(k)])
        // complexNormal has variance ½ per part; bmode.py's noise has σ = 0.05·floor per part.
        let noiseScale = Float(scene.noiseFloor * 0.05 * 2.0.squareRoot())
        var env = [Float](repeating: 0, count: nR * nT)
        env.withUnsafeMutableBufferPointer { out in
            for i in 0..<nR {
                let g = depthGain[i]
                for j in 0..<nT {
                    let idx = i * nT + j
                    let a = (rfRe[idx] * rfRe[idx] + rfIm[idx] * rfIm[idx]).squareRoot() * g * apodisation[j]
                    let n = noise.complexNormal()
                    let nr = a + noiseScale * n.re, ni = noiseScale * n.im
                    out[idx] = (nr * nr + ni * ni).squareRoot()
                }
            }
        }
        return env
    }

    /// Step 3: multiplies every sample deeper on its beam than the structure's far edge by
    /// 1 + factor·w(beam) (bmode.py's `_behind_profile`).
    func applyBehind(mask: [Bool], factor: Double, to echo: inout [Float]) {
        var chord = [Double](repeating: 0, count: nT)
        var far = [Int](repeating: nR, count: nT)
        for i in 0..<nR {
            for j in 0..<nT where mask[i * nT + j] {
                chord[j] += 1
                far[j] = i
            }
        }
        let longest = chord.max() ?? 0
        guard longest > 0 else { return }
        var weight = chord.map { min(max($0 / max(1.0, 0.6 * longest), 0), 1) }
        weight = Self.convolve1D(weight, kernel: Self.gaussianKernel(sigma: 1.5))
        for j in 0..<nT where far[j] < nR {
            let f = Float(1 + factor * weight[j])
            for i in (far[j] + 1)..<nR { echo[i * nT + j] *= f }
        }
    }

    /// Log compression (step 6) of a frame's envelope with reference median m.
    func logCompressed(_ envelope: [Float], referenceMedian m: Double) -> [Float] {
        let scale = Float(255.0 / scene.dynamicRangeDb), target = Float(scene.targetGrey), median = Float(m)
        return envelope.map { v in min(max(target + (20 * log10(v + 1e-6) - median) * scale, 0), 255) }
    }

    /// The median of 20 log₁₀(env + 10⁻⁶) over depth samples ⌊0.3 nR⌋ ..< ⌊0.6 nR⌋ (numpy's median:
    /// the mean of the two middle values of an even count).
    func referenceMedian(_ envelope: [Float]) -> Double {
        let lo = Int(Double(nR) * 0.3), hi = Int(Double(nR) * 0.6)
        var values = envelope[(lo * nT)..<(hi * nT)].map { 20 * log10($0 + 1e-6) }
        values.sort()
        let n = values.count
        return n % 2 == 1 ? Double(values[n / 2]) : (Double(values[n / 2 - 1]) + Double(values[n / 2])) / 2
    }

    /// The grey polar images (0...255) of n frames.
    func polarFrames(_ n: Int) -> [[Float]] {
        var frames: [[Float]] = []
        var median: Double?
        for k in 0..<n {
            let env = envelope(frame: k, of: n)
            if median == nil { median = referenceMedian(env) }
            frames.append(logCompressed(env, referenceMedian: median!))
        }
        return frames
    }

    // MARK: Convolution

    /// A Gaussian of standard deviation σ sampled at −n...n, n = max(1, ⌈3σ⌉), normalised to sum 1.
    static func gaussianKernel(sigma: Double) -> [Double] {
        let n = max(1, Int((3 * sigma).rounded(.up)))
        let k = (-n...n).map { exp(-0.5 * pow(Double($0) / sigma, 2)) }
        let sum = k.reduce(0, +)
        return k.map { $0 / sum }
    }

    /// numpy's "reflect" padding: −1 → 1, n → n − 2 (the edge sample is not repeated).
    @inline(__always)
    static func reflect(_ i: Int, _ n: Int) -> Int {
        var i = i
        while i < 0 || i >= n { i = i < 0 ? -i : 2 * (n - 1) - i }
        return i
    }

    static func convolve1D(_ a: [Double], kernel: [Double]) -> [Double] {
        let half = kernel.count / 2, n = a.count
        return (0..<n).map { i in
            var s = 0.0
            for (t, w) in kernel.enumerated() { s += w * a[reflect(i + t - half, n)] }
            return s
        }
    }

    /// Convolves every column (along the depth axis) of a row-major rows × columns image.
    @inline(never)
    static func convolveAxial(_ a: inout [Float], rows: Int, columns: Int, kernel: [Double]) {
        let half = kernel.count / 2, w = kernel.map { Float($0) }
        var out = [Float](repeating: 0, count: a.count)
        a.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<rows {
                    let o = i * columns
                    for t in 0..<w.count {
                        let s = reflect(i + t - half, rows) * columns, wt = w[t]
                        for j in 0..<columns { dst[o + j] += wt * src[s + j] }
                    }
                }
            }
        }
        a = out
    }

    /// Convolves every row (across the beams) of a row-major rows × columns image.
    @inline(never)
    static func convolveLateral(_ a: inout [Float], rows: Int, columns: Int, kernel: [Double]) {
        let half = kernel.count / 2, w = kernel.map { Float($0) }
        var out = [Float](repeating: 0, count: a.count)
        a.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<rows {
                    let o = i * columns
                    for j in 0..<columns {
                        var s: Float = 0
                        if j >= half && j + half < columns {
                            for t in 0..<w.count { s += w[t] * src[o + j + t - half] }
                        } else {
                            for t in 0..<w.count { s += w[t] * src[o + reflect(j + t - half, columns)] }
                        }
                        dst[o + j] = s
                    }
                }
            }
        }
        a = out
    }
}

/// t²(3 − 2t) with t = clamp((x − e₀)/(e₁ − e₀), 0, 1).
func smoothstep(_ e0: Double, _ e1: Double, _ x: Double) -> Double {
    let t = min(max((x - e0) / (e1 - e0), 0), 1)
    return t * t * (3 - 2 * t)
}

/// Bilinear scan conversion of a fan's polar images onto the image's pixel grid (step 7 of
/// `FanRenderer`): a fan pixel at (r, θ) reads the polar image at fractional sample
/// i = (r − r₀)/Δd − ½ and beam j = (θ + α)/(2α/nT) − ½ (clamped to [0, n − 1.001]). The pixel list and
/// weights are computed once per fan and reused for every frame.
struct ScanConversion: Sendable {
    let pixels: [Int32]          // y·width + x of each fan pixel
    let source: [Int32]          // i₀·nT + j₀
    let wi: [Float], wj: [Float]
    let columns: Int

    init(geometry: FanGeometry, width: Int, height: Int, rows nR: Int, columns nT: Int) {
        let r0 = geometry.probe.faceRadiusCm, half = geometry.probe.halfAngle
        let beamStep = 2 * half / Double(nT)
        var pixels: [Int32] = [], source: [Int32] = [], wi: [Float] = [], wj: [Float] = []
        let vp = geometry.viewport
        for y in max(0, vp.minY)...min(height - 1, vp.maxY) {
            for x in max(0, vp.minX)...min(width - 1, vp.maxX) where geometry.contains(x: x, y: y) {
                let (r, theta) = geometry.polar(x: x, y: y)
                let fi = min(max((r - r0) / FanRenderer.sampleSpacingCm - 0.5, 0), Double(nR) - 1.001)
                let fj = min(max((theta + half) / beamStep - 0.5, 0), Double(nT) - 1.001)
                let i0 = Int(fi), j0 = Int(fj)
                pixels.append(Int32(y * width + x))
                source.append(Int32(i0 * nT + j0))
                wi.append(Float(fi - Double(i0)))
                wj.append(Float(fj - Double(j0)))
            }
        }
        self.pixels = pixels
        self.source = source
        self.wi = wi
        self.wj = wj
        columns = nT
    }

    /// Writes the fan's pixels of `image` (row-major, width × height) from the polar image.
    func apply(_ polar: [Float], into image: inout [Float]) {
        let nT = columns
        polar.withUnsafeBufferPointer { p in
            image.withUnsafeMutableBufferPointer { out in
                for n in 0..<pixels.count {
                    let s = Int(source[n]), a = wi[n], b = wj[n]
                    let top = (1 - b) * p[s] + b * p[s + 1]
                    let bottom = (1 - b) * p[s + nT] + b * p[s + nT + 1]
                    out[Int(pixels[n])] = (1 - a) * top + a * bottom
                }
            }
        }
    }
}
