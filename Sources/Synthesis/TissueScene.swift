import Foundation

/// The look of a lesion, drawn once per study (sizes in cm); every view of the study places it
/// somewhere else and varies its size and contrast a little (see `TissueScene.random`).
public struct LesionLook: Sendable, Hashable, Codable {
    /// Lateral and axial semi-axes of the ellipse (cm).
    public var semiAxisA: Double, semiAxisB: Double
    /// Amplitude scale of the margin's lobulation (SampleStudies: 0.02...0.14).
    public var irregularity: Double
    /// Interior echogenicity relative to the parenchyma: < 1 hypoechoic, > 1 hyperechoic.
    public var contrast: Double
    /// Fraction of echo removed behind the lesion along the beams (acoustic shadow) when > 0;
    /// when < 0, −shadow is the fraction added (posterior enhancement).
    public var shadow: Double
    /// A thin echogenic rim around the lesion.
    public var halo: Bool

    public init(semiAxisA: Double, semiAxisB: Double, irregularity: Double, contrast: Double, shadow: Double, halo: Bool) {
        self.semiAxisA = semiAxisA
        self.semiAxisB = semiAxisB
        self.irregularity = irregularity
        self.contrast = contrast
        self.shadow = shadow
        self.halo = halo
    }
}

/// A sinusoidal boundary displacement a·sin(2πx/λ + φ) (cm).
struct Wave: Sendable {
    var amplitude: Double, wavelength: Double, phase: Double

    static let flat = Wave(amplitude: 0, wavelength: 1, phase: 0)

    @inline(__always)
    func at(_ x: Double) -> Double { amplitude * sin(2 * Double.pi * x / wavelength + phase) }

    /// bmode.py's `_wave`: amplitude uniform in [0.3, 1)·scale, λ in [1.5, 5) cm, φ in [0, 2π).
    static func random(_ draws: inout SyntheticDraws, scale: Double) -> Wave {
        let a = draws.uniform(0.3, 1.0) * scale
        let lambda = draws.uniform(1.5, 5.0)
        return Wave(amplitude: a, wavelength: lambda, phase: draws.uniform(0, 2 * Double.pi))
    }
}

/// A solid mass: an ellipse with centre (cx, cz), semi-axes a (lateral) and b (axial), rotated by
/// `angle`, whose margin is made irregular by harmonics. In the ellipse's own coordinates
/// u = (Δx cos ψ + Δz sin ψ)/(a + g), v = (−Δx sin ψ + Δz cos ψ)/(b + g) (g grows the ellipse, for
/// the halo), a point is inside when ρ = √(u² + v²) ≤ 1 + Σₖ Aₖ sin(k φ + φₖ), φ = atan2(v, u).
struct Lesion: Sendable {
    let cx: Double, cz: Double, a: Double, b: Double, angle: Double
    let contrast: Double, shadow: Double, halo: Bool
    let harmonics: [(k: Double, amplitude: Double, phase: Double)]
    private let cosAngle: Double, sinAngle: Double
    /// Σ|Aₖ|: ρ ≤ 1 − Σ|Aₖ| is inside and ρ > 1 + Σ|Aₖ| outside whatever φ (the cheap tests
    /// before the harmonics).
    private let harmonicBound: Double

    init(cx: Double, cz: Double, a: Double, b: Double, angle: Double, contrast: Double, shadow: Double, halo: Bool,
         harmonics: [(k: Double, amplitude: Double, phase: Double)]) {
        self.cx = cx; self.cz = cz; self.a = a; self.b = b; self.angle = angle
        self.contrast = contrast; self.shadow = shadow; self.halo = halo; self.harmonics = harmonics
        cosAngle = cos(angle)
        sinAngle = sin(angle)
        harmonicBound = harmonics.reduce(0.0) { $0 + abs($1.amplitude) }
    }

    @inline(__always)
    func inside(_ x: Double, _ z: Double, grow: Double = 0) -> Bool {
        let dx = x - cx, dz = z - cz
        let u = (dx * cosAngle + dz * sinAngle) / (a + grow)
        let v = (-dx * sinAngle + dz * cosAngle) / (b + grow)
        let rho2 = u * u + v * v
        if rho2 > (1 + harmonicBound) * (1 + harmonicBound) { return false }
        if harmonicBound < 1, rho2 <= (1 - harmonicBound) * (1 - harmonicBound) { return true }
        let phi = atan2(v, u)
        var edge = 1.0
        for h in harmonics { edge += h.amplitude * sin(h.k * phi + h.phase) }
        return rho2.squareRoot() <= edge
    }
}

/// An ellipse (vessels, cysts): ρ(x, z) as for `Lesion` without harmonics; `wall` > 0 is the
/// thickness (cm) of a bright wall outside ρ = 1.
struct Blob: Sendable {
    let cx: Double, cz: Double, a: Double, b: Double, angle: Double
    let wall: Double
    private let cosAngle: Double, sinAngle: Double

    init(cx: Double, cz: Double, a: Double, b: Double, angle: Double, wall: Double = 0) {
        self.cx = cx; self.cz = cz; self.a = a; self.b = b; self.angle = angle; self.wall = wall
        cosAngle = cos(angle)
        sinAngle = sin(angle)
    }

    @inline(__always)
    func rho(_ x: Double, _ z: Double) -> Double { rhoSquared(x, z).squareRoot() }

    /// ρ²: enough to compare ρ with a bound.
    @inline(__always)
    func rhoSquared(_ x: Double, _ z: Double) -> Double {
        let dx = x - cx, dz = z - cz
        let u = (dx * cosAngle + dz * sinAngle) / a, v = (-dx * sinAngle + dz * cosAngle) / b
        return u * u + v * v
    }

    /// ρ at the outer edge of the wall: 1 + wall / min(a, b).
    var wallEdge: Double { 1.0 + wall / min(a, b) }
}

/// Everything random about one view of tissue (bmode.py's `Scene`); `FanRenderer` turns it into
/// frames. Depths are in cm below the skin: `d` along the beam, `z` Cartesian.
struct TissueScene: Sendable {
    var skin: Double
    var fatBottom: Double, fatWave: Wave
    /// Bright fibrous septa in the fat: depth, slope, waviness.
    var septa: [(depth: Double, slope: Double, wave: Wave)]
    var muscleBottom: Double, muscleWave: Wave
    var striationPeriod: Double, striationTilt: Double
    var capsule: Double
    var parenchymaLevel: Double, textureAmplitude: Double
    var vessels: [Blob]
    var cyst: Blob?
    /// The diaphragm: z = z₀ + curvature·x².
    var diaphragm: (z0: Double, curvature: Double)?
    var lesion: Lesion?
    var attenuationDbPerCm: Double
    var focusCm: Double
    var dynamicRangeDb: Double
    var targetGrey: Double
    var noiseFloor: Double
    /// Cine motion: lateral and axial amplitude (cm), phase, speckle decorrelation per frame.
    var motion: (amplitudeX: Double, amplitudeZ: Double, phase: Double, decorrelation: Double)
    /// Seed of the scene's own streams (scatterers, textures, noise).
    var seed: UInt64

    /// bmode.py's `random_scene`: a random tissue scene that fits a fan of the given probe and
    /// depth, with the same distributions, drawn in the same order. `lesion` (positive class) gives
    /// the study-level look; its position and a ±15 % variation of size, contrast and shadow are
    /// drawn here, so every view of a study shows the mass somewhere else.
    static func random(_ draws: inout SyntheticDraws, probe: Probe, depthCm depth: Double,
                       lesion look: LesionLook?, cyst hasCyst: Bool, cine: Bool) -> TissueScene {
        let skin = draws.uniform(0.12, 0.22)
        let fatBottom = skin + draws.uniform(0.5, 1.6) * depth / 12.0
        let muscleBottom = fatBottom + draws.uniform(0.5, 1.3) * depth / 12.0
        let capsule = muscleBottom + draws.uniform(0.05, 0.25)
        var septa: [(depth: Double, slope: Double, wave: Wave)] = []
        for _ in 0..<draws.integer(in: 1...3) {
            let c = draws.uniform(skin + 0.1, fatBottom - 0.05)
            let slope = draws.uniform(-0.08, 0.08)
            septa.append((c, slope, Wave.random(&draws, scale: 0.08)))
        }
        let half = probe.halfAngle, r0 = probe.faceRadiusCm
        func lateralLimit(_ z: Double, _ margin: Double) -> Double { max(0.3, (r0 + z) * sin(half) * margin) }

        var vessels: [Blob] = []
        for _ in 0..<draws.integer(in: 1...4) {
            let z = draws.uniform(capsule + 0.8, depth * 0.92)
            let x = draws.uniform(-1, 1) * lateralLimit(z, 0.8)
            let a: Double, b: Double
            if draws.chance(0.35) {   // tube cut lengthwise
                a = draws.uniform(1.0, 3.0); b = draws.uniform(0.12, 0.3)
            } else {                  // cross-section
                a = draws.uniform(0.15, 0.55); b = a * draws.uniform(0.7, 1.1)
            }
            let angle = draws.uniform(-0.6, 0.6)
            let wall = draws.chance(0.5) ? draws.uniform(0.04, 0.08) : 0
            vessels.append(Blob(cx: x, cz: z, a: a, b: b, angle: angle, wall: wall))
        }
        var cyst: Blob?
        if hasCyst {
            let z = draws.uniform(capsule + 1.0, depth * 0.7)
            let a = draws.uniform(0.3, 0.8)
            let x = draws.uniform(-1, 1) * lateralLimit(z, 0.6)
            let b = a * draws.uniform(0.75, 1.0)
            cyst = Blob(cx: x, cz: z, a: a, b: b, angle: draws.uniform(-0.4, 0.4))
        }
        var diaphragm: (z0: Double, curvature: Double)?
        if draws.chance(0.45) {
            let z0 = draws.uniform(depth * 0.72, depth * 0.9)
            diaphragm = (z0, draws.uniform(-0.05, 0.03))
        }
        var lesion: Lesion?
        if let look {
            let a = look.semiAxisA * draws.uniform(0.85, 1.15)
            let b = look.semiAxisB * draws.uniform(0.85, 1.15)
            let z = draws.uniform(capsule + b + 0.4, max(capsule + b + 0.5, depth * 0.62))
            let x = draws.uniform(-1, 1) * lateralLimit(z, 0.55)
            // Gentle lobulation (k = 2...5) plus a fine angular jaggedness (k = 9...12).
            var harmonics: [(k: Double, amplitude: Double, phase: Double)] = []
            for k in 2...5 {
                let amplitude = draws.uniform(0, look.irregularity) * 2 / Double(k)
                harmonics.append((Double(k), amplitude, draws.uniform(0, 2 * Double.pi)))
            }
            for k in 9...12 {
                let amplitude = draws.uniform(0.0, 0.035)
                harmonics.append((Double(k), amplitude, draws.uniform(0, 2 * Double.pi)))
            }
            let angle = draws.uniform(-0.5, 0.5)
            let contrast = look.contrast * draws.uniform(0.85, 1.15)
            let shadow = look.shadow * draws.uniform(0.85, 1.1)
            lesion = Lesion(cx: x, cz: z, a: a, b: b, angle: angle, contrast: contrast, shadow: shadow,
                            halo: look.halo, harmonics: harmonics)
            // A cyst must not sit on the mass.
            if let c = cyst, hypot(c.cx - x, c.cz - z) < a + c.a + 0.5 { cyst = nil }
        }
        var motion = (amplitudeX: 0.0, amplitudeZ: 0.0, phase: 0.0, decorrelation: 0.0)
        if cine {
            let ax = draws.uniform(0.05, 0.2), az = draws.uniform(0.1, 0.35)
            let phase = draws.uniform(0, 2 * Double.pi)
            motion = (ax, az, phase, draws.uniform(0.08, 0.25))
        }
        let fatWave = Wave.random(&draws, scale: 0.15)
        let muscleWave = Wave.random(&draws, scale: 0.2)
        let striationPeriod = draws.uniform(0.12, 0.25)
        let striationTilt = draws.uniform(-0.25, 0.25)
        let parenchymaLevel = draws.uniform(0.85, 1.15)
        let textureAmplitude = draws.uniform(0.12, 0.3)
        let attenuation = draws.uniform(0.3, 1.6)
        let focus = draws.uniform(0.35, 0.65) * depth
        let dynamicRange = draws.choice([50.0, 55, 60, 66])
        let targetGrey = draws.uniform(88, 128)
        let noiseFloor = draws.uniform(0.01, 0.04)
        let seed = UInt64(draws.integer(below: Int.max))
        return TissueScene(skin: skin, fatBottom: fatBottom, fatWave: fatWave, septa: septa,
                           muscleBottom: muscleBottom, muscleWave: muscleWave, striationPeriod: striationPeriod,
                           striationTilt: striationTilt, capsule: capsule, parenchymaLevel: parenchymaLevel,
                           textureAmplitude: textureAmplitude, vessels: vessels, cyst: cyst, diaphragm: diaphragm,
                           lesion: lesion, attenuationDbPerCm: attenuation, focusCm: focus,
                           dynamicRangeDb: dynamicRange, targetGrey: targetGrey, noiseFloor: noiseFloor,
                           motion: motion, seed: seed)
    }
}
