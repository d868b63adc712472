import Foundation
import XCTest
@testable import Synthesis

/// A controlled scene: flat layers, no vessels, cyst or diaphragm, no texture amplitude, no motion.
func phantom(lesion: Lesion? = nil, cyst: Blob? = nil, seed: UInt64 = 11) -> TissueScene {
    TissueScene(skin: 0.15, fatBottom: 0.6, fatWave: .flat, septa: [], muscleBottom: 1.0, muscleWave: .flat,
                striationPeriod: 0.2, striationTilt: 0, capsule: 1.1, parenchymaLevel: 1, textureAmplitude: 0,
                vessels: [], cyst: cyst, diaphragm: nil, lesion: lesion, attenuationDbPerCm: 0.5, focusCm: 4,
                dynamicRangeDb: 60, targetGrey: 110, noiseFloor: 0.02,
                motion: (amplitudeX: 0, amplitudeZ: 0, phase: 0, decorrelation: 0), seed: seed)
}

func roundLesion(x: Double = 0, z: Double, radius: Double = 0.8, contrast: Double, shadow: Double) -> Lesion {
    Lesion(cx: x, cz: z, a: radius, b: radius, angle: 0, contrast: contrast, shadow: shadow, halo: false, harmonics: [])
}

/// A 10 cm C5-2 fan in a 400 × 300 image.
func phantomGeometry() -> FanGeometry {
    FanGeometry.fit(probe: Probe.catalog["C5-2"]!, depthCm: 10, viewport: PixelBox(minX: 0, minY: 0, maxX: 399, maxY: 299),
                    pads: (22, 30, 34, 16))
}

/// The grey image (0...255, row-major 400 × 300) of a scene's first frame.
func renderImage(_ scene: TissueScene, _ g: FanGeometry = phantomGeometry()) -> [Float] {
    let r = FanRenderer(geometry: g, scene: scene)
    let conversion = ScanConversion(geometry: g, width: 400, height: 300, rows: r.nR, columns: r.nT)
    var image = [Float](repeating: 0, count: 400 * 300)
    conversion.apply(r.polarFrames(1)[0], into: &image)
    return image
}

/// The mean grey of the pixels whose tissue point (X, Z) satisfies the predicate.
func meanGrey(_ image: [Float], _ g: FanGeometry, where predicate: (Double, Double) -> Bool) -> (mean: Double, count: Int) {
    var sum = 0.0, count = 0
    for y in 0..<300 {
        for x in 0..<400 where g.contains(x: x, y: y) {
            let X = (Double(x) - g.apexX) / g.pixelsPerCm, Z = (Double(y) - g.apexY) / g.pixelsPerCm - g.probe.faceRadiusCm
            if predicate(X, Z) { sum += Double(image[y * 400 + x]); count += 1 }
        }
    }
    return (sum / Double(max(count, 1)), count)
}

final class FanRendererTests: XCTestCase {
    // MARK: Speckle

    /// Fully developed speckle: the envelope of a homogeneous region before log compression is
    /// Rayleigh, std/mean = √(4/π − 1) = 0.5227 and P(A < mean) = 1 − e^(−π/4) = 0.544. Each depth
    /// row of the central beams is divided by its mean (the gain depends on depth). The envelope of
    /// only the real part (half-normal: 0.756), or the intensity (1.0), fails by far.
    func testSpeckleEnvelopeIsRayleigh() {
        var r = FanRenderer(geometry: phantomGeometry(), scene: phantom())
        r.texture2.values = [Float](repeating: 0, count: r.texture2.values.count)
        r.texture1.values = [Float](repeating: 0, count: r.texture1.values.count)
        let env = r.envelope(frame: 0, of: 1)
        let half = r.geometry.probe.halfAngle
        let beams = (0..<r.nT).filter { abs(r.angles[$0]) < 0.8 * half }
        var normalised: [Double] = []
        for i in 0..<r.nR where r.depths[i] > 3 && r.depths[i] < 8 {
            let row = beams.map { Double(env[i * r.nT + $0]) }
            let mean = row.reduce(0, +) / Double(row.count)
            normalised += row.map { $0 / mean }
        }
        XCTAssertGreaterThan(normalised.count, 20_000)
        let n = Double(normalised.count)
        let mean = normalised.reduce(0, +) / n
        let sd = (normalised.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n).squareRoot()
        XCTAssertEqual(sd / mean, (4 / Double.pi - 1).squareRoot(), accuracy: 0.02)
        XCTAssertEqual(Double(normalised.filter { $0 < mean }.count) / n, 1 - exp(-Double.pi / 4), accuracy: 0.015)
    }

    /// The scatterer of a cell is SyntheticDraws(seed: key, path: [index]).complexNormal() (the
    /// inlined stream equals the real one), and complex normals have E re = E im = 0,
    /// E re² = E im² = ½, E re·im = 0 and E|z|⁴ = 2 (|z|² exponential with mean 1).
    func testScattererFieldIsTheDrawsStreamAndComplexNormalsHaveTheRightMoments() {
        let field = ScattererField(key: 987_654_321, cell: 0.012, extentX: 5, extentZ: 9)
        for index in [0, 1, 17, 123_456, field.nx * field.nz - 1] {
            var d = SyntheticDraws(seed: 987_654_321, path: [UInt64(index)])
            let expected = d.complexNormal(), got = field.value(cell: index)
            XCTAssertEqual(got.re, expected.re)
            XCTAssertEqual(got.im, expected.im)
        }
        XCTAssertNotEqual(field.value(cell: 5).re, field.value(cell: 6).re)
        var draws = SyntheticDraws(seed: 5)
        let n = 100_000
        var re = 0.0, im = 0.0, re2 = 0.0, im2 = 0.0, cross = 0.0, fourth = 0.0
        for _ in 0..<n {
            let z = draws.complexNormal()
            let a = Double(z.re), b = Double(z.im)
            re += a; im += b; re2 += a * a; im2 += b * b; cross += a * b
            fourth += (a * a + b * b) * (a * a + b * b)
        }
        let nd = Double(n)
        XCTAssertEqual(re / nd, 0, accuracy: 0.012)
        XCTAssertEqual(im / nd, 0, accuracy: 0.012)
        XCTAssertEqual(re2 / nd, 0.5, accuracy: 0.012)
        XCTAssertEqual(im2 / nd, 0.5, accuracy: 0.012)
        XCTAssertEqual(cross / nd, 0, accuracy: 0.01)
        XCTAssertEqual(fourth / nd, 2, accuracy: 0.06)
    }

    // MARK: Lesions and posterior effects

    /// A lesion of contrast 0.2 (−14 dB, about −60 grey levels at 60 dB) is far darker inside than
    /// the parenchyma around it at the same depths; one of contrast 1 is not.
    func testHypoechoicLesionIsDarkerThanTheParenchymaAroundIt() {
        let g = phantomGeometry()
        for (contrast, darker) in [(0.2, true), (1.0, false)] {
            let image = renderImage(phantom(lesion: roundLesion(z: 4, contrast: contrast, shadow: 0)), g)
            let inside = meanGrey(image, g) { x, z in x * x + (z - 4) * (z - 4) < 0.6 * 0.6 }
            let around = meanGrey(image, g) { x, z in
                let rho = (x * x + (z - 4) * (z - 4)).squareRoot()
                return rho > 1.1 && rho < 1.8 && abs(z - 4) < 0.8
            }
            XCTAssertGreaterThan(inside.count, 300)
            XCTAssertGreaterThan(around.count, 300)
            if darker {
                XCTAssertLessThan(inside.mean, around.mean - 35, "contrast \(contrast)")
            } else {
                XCTAssertEqual(inside.mean, around.mean, accuracy: 8, "contrast \(contrast)")
            }
        }
    }

    /// shadow > 0 darkens the region behind the lesion along the beams versus beside it at the
    /// same depths; shadow < 0 (posterior enhancement) brightens it; shadow 0 leaves it alone.
    func testShadowDarkensAndEnhancementBrightensTheRegionBehind() {
        let g = phantomGeometry()
        func behindMinusBeside(_ shadow: Double) -> Double {
            let image = renderImage(phantom(lesion: roundLesion(z: 3, radius: 0.7, contrast: 0.5, shadow: shadow)), g)
            let behind = meanGrey(image, g) { x, z in abs(x) < 0.35 && z > 4.3 && z < 6.5 }
            let beside = meanGrey(image, g) { x, z in abs(x) > 2.2 && abs(x) < 3.5 && z > 4.3 && z < 6.5 }
            XCTAssertGreaterThan(behind.count, 200)
            XCTAssertGreaterThan(beside.count, 200)
            return behind.mean - beside.mean
        }
        XCTAssertLessThan(behindMinusBeside(0.8), -25)      // ×0.2: −14 dB ≈ −60 grey levels
        XCTAssertGreaterThan(behindMinusBeside(-0.8), 12)   // ×1.8: +5 dB ≈ +22 grey levels
        XCTAssertEqual(behindMinusBeside(0), 0, accuracy: 8)
    }

    /// The cyst's posterior enhancement (+55 %) and its anechoic interior.
    func testCystIsAnechoicWithEnhancementBehind() {
        let g = phantomGeometry()
        let image = renderImage(phantom(cyst: Blob(cx: 0, cz: 3, a: 0.7, b: 0.7, angle: 0)), g)
        let inside = meanGrey(image, g) { x, z in x * x + (z - 3) * (z - 3) < 0.4 * 0.4 }
        let behind = meanGrey(image, g) { x, z in abs(x) < 0.35 && z > 4.3 && z < 6.5 }
        let beside = meanGrey(image, g) { x, z in abs(x) > 2.2 && abs(x) < 3.5 && z > 4.3 && z < 6.5 }
        XCTAssertLessThan(inside.mean, 25)
        XCTAssertGreaterThan(behind.mean, beside.mean + 8)
    }

    /// applyBehind multiplies exactly the samples deeper than the structure's far edge, on the
    /// beams it crosses, by 1 + factor·w, with w = 1 on its widest beams.
    func testBehindProfileScalesOnlyTheSamplesBehind() {
        let r = FanRenderer(geometry: phantomGeometry(), scene: phantom())
        var mask = [Bool](repeating: false, count: r.nR * r.nT)
        let centre = r.nT / 2
        for i in 100..<140 { for j in (centre - 10)...(centre + 10) { mask[i * r.nT + j] = true } }
        var echo = [Float](repeating: 1, count: r.nR * r.nT)
        r.applyBehind(mask: mask, factor: -0.5, to: &echo)
        XCTAssertEqual(echo[120 * r.nT + centre], 1)                 // inside: unchanged
        XCTAssertEqual(echo[139 * r.nT + centre], 1)                 // the far edge itself
        XCTAssertEqual(echo[140 * r.nT + centre], 0.5, accuracy: 1e-6)
        XCTAssertEqual(echo[(r.nR - 1) * r.nT + centre], 0.5, accuracy: 1e-6)
        XCTAssertEqual(echo[50 * r.nT + centre], 1)                  // in front
        XCTAssertEqual(echo[200 * r.nT + centre + 20], 1)            // a beam that misses it
        let flank = echo[200 * r.nT + centre + 10]                   // smoothed weight at the flank
        XCTAssertLessThan(flank, 0.9)
        XCTAssertGreaterThan(flank, 0.5)
    }

    // MARK: Image

    /// Pixels outside the fan are exactly 0; the fan's pixels are grey levels in [0, 255] and the
    /// parenchyma near the reference depths sits near the target grey (110).
    func testOutsideTheFanIsZeroAndTheParenchymaSitsNearTheTarget() {
        let g = phantomGeometry()
        let image = renderImage(phantom(), g)
        let mask = g.mask(width: 400, height: 300)
        for p in 0..<(400 * 300) {
            if mask[p] { XCTAssert(image[p] >= 0 && image[p] <= 255) } else if image[p] != 0 { XCTFail("pixel \(p) outside the fan is \(image[p])"); break }
        }
        XCTAssertEqual(meanGrey(image, g) { _, z in z > 3.5 && z < 5.5 }.mean, 110, accuracy: 15)
    }

    // MARK: Building blocks against plain versions

    /// The Gaussian kernels (σ = 1.3: 9 taps, σ = 0.9: 7 taps, normalised) and the buffer
    /// convolutions against a plain 2-D convolution with numpy's reflect padding.
    func testConvolutionsEqualThePlainVersion() {
        let axial = FanRenderer.gaussianKernel(sigma: 1.3), lateral = FanRenderer.gaussianKernel(sigma: 0.9)
        XCTAssertEqual(axial.count, 9)
        XCTAssertEqual(lateral.count, 7)
        XCTAssertEqual(axial.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertEqual(axial[4] / axial[5], exp(0.5 / (1.3 * 1.3)), accuracy: 1e-12)
        XCTAssertEqual(FanRenderer.reflect(-1, 5), 1)
        XCTAssertEqual(FanRenderer.reflect(-3, 5), 3)
        XCTAssertEqual(FanRenderer.reflect(5, 5), 3)
        XCTAssertEqual(FanRenderer.reflect(6, 5), 2)
        let rows = 13, columns = 11
        var draws = SyntheticDraws(seed: 3)
        let a = (0..<(rows * columns)).map { _ in Float(draws.normal()) }
        var fast = a
        FanRenderer.convolveAxial(&fast, rows: rows, columns: columns, kernel: axial)
        FanRenderer.convolveLateral(&fast, rows: rows, columns: columns, kernel: lateral)
        for i in 0..<rows {
            for j in 0..<columns {
                var s = 0.0
                for (u, wu) in axial.enumerated() {
                    for (v, wv) in lateral.enumerated() {
                        s += wu * wv * Double(a[FanRenderer.reflect(i + u - 4, rows) * columns + FanRenderer.reflect(j + v - 3, columns)])
                    }
                }
                XCTAssertEqual(Double(fast[i * columns + j]), s, accuracy: 1e-5)
            }
        }
    }

    /// The layers from the skin down, and the structures deeper than the capsule.
    func testEchogenicityOfTheLayers() {
        var scene = phantom(lesion: roundLesion(x: 1, z: 5, radius: 0.5, contrast: 0.2, shadow: 0))
        scene.vessels = [Blob(cx: -1, cz: 5, a: 0.4, b: 0.4, angle: 0, wall: 0.06)]
        scene.diaphragm = (z0: 8, curvature: 0)
        var r = FanRenderer(geometry: phantomGeometry(), scene: scene)
        r.texture2.values = [Float](repeating: 0, count: r.texture2.values.count)
        r.texture1.values = [Float](repeating: 0, count: r.texture1.values.count)
        XCTAssertEqual(r.echogenicity(x: 0, z: 0.1, d: 0.1), 1.9)                 // skin
        XCTAssertEqual(r.echogenicity(x: 0, z: 0.4, d: 0.4), 0.38, accuracy: 1e-9) // fat
        let muscle = r.echogenicity(x: 0, z: 0.8, d: 0.8)
        XCTAssert(muscle >= 0.55 && muscle <= 1.15)
        XCTAssertEqual(r.echogenicity(x: 0, z: 1.05, d: 1.05), 0.3)               // gap under the muscle
        XCTAssertEqual(r.echogenicity(x: 0, z: 1.13, d: 1.13), 2.3)               // capsule
        XCTAssertEqual(r.echogenicity(x: 0, z: 3, d: 3), 1, accuracy: 1e-9)        // parenchyma
        XCTAssertEqual(r.echogenicity(x: -1, z: 5, d: 5), 0.03)                    // vessel lumen
        XCTAssertEqual(r.echogenicity(x: -1, z: 5.43, d: 5.43), 2.2)               // its wall
        XCTAssertEqual(r.echogenicity(x: 1, z: 5, d: 5), 0.2, accuracy: 1e-9)      // lesion
        XCTAssertEqual(r.echogenicity(x: 0, z: 8.05, d: 8.05), 2.6)                // diaphragm
        XCTAssertEqual(r.echogenicity(x: 0, z: 9, d: 9), 0.55, accuracy: 1e-9)     // below it
    }
}
