import DICOM
import Foundation
import XCTest
import Imaging
@testable import Preprocess

/// A frame source that counts decodes, to prove the cache spares them.
final class CountingSource: FrameSource {
    let inner: PictureSource
    var decodes = 0
    init(_ inner: PictureSource) { self.inner = inner }
    var instanceKey: String { inner.instanceKey }
    var frameCount: Int { inner.frameCount }
    var frameWidth: Int { inner.frameWidth }
    var frameHeight: Int { inner.frameHeight }
    var ultrasoundRegions: [UltrasoundRegion] { inner.ultrasoundRegions }
    func decodeRGB(frame index: Int, window: VOIWindow?) throws -> RGBImage {
        decodes += 1
        return try inner.decodeRGB(frame: index, window: window)
    }
}

final class FramePreprocessorTests: XCTestCase {
    let us = SyntheticUltrasound(width: 240, height: 160)
    var cacheDirectory: URL!

    override func setUp() {
        cacheDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sonokit-cache-\(UUID().uuidString)")
    }
    override func tearDown() { try? FileManager.default.removeItem(at: cacheDirectory) }

    // MARK: The pipeline: select -> crop -> pad -> 224x224, all frames share the crop
    func testCineLoopGivesPaddedSquareFramesCroppedToTheSector() throws {
        let source = PictureSource(instanceKey: "1.2.3", pictures: (0..<12).map { us.frame($0) })
        let pre = FramePreprocessor(config: PreprocessConfig(frames: .uniform(3)))
        let result = try pre.process(source)
        XCTAssertEqual(result.selection.indices, [2, 6, 10])
        XCTAssertEqual(result.frames.map(\.frameIndex), [2, 6, 10])
        XCTAssertEqual(result.crop?.source, .auto)
        XCTAssertTrue(result.warnings.contains { $0.contains("0018,6011") })
        for f in result.frames {
            XCTAssertEqual(f.image.width, 224); XCTAssertEqual(f.image.height, 224)
            XCTAssertFalse(f.fromCache)
        }
        // The sector box (144x121) is wider than tall: padded rows at top and bottom are black.
        let box = try XCTUnwrap(result.crop?.box)
        let plan = ResizePlan(sourceWidth: box.width, sourceHeight: box.height, size: 224, aspect: .pad)
        XCTAssertGreaterThan(plan.offsetY, 0)
        let top = result.frames[0].image.pixels[0..<(plan.offsetY * 224 * 3)]
        XCTAssertTrue(top.allSatisfy { $0 == 0 })
        // No yellow overlay pixel (R high, B low) survives the crop.
        let img = result.frames[0].image
        var yellow = 0
        for i in stride(from: 0, to: img.pixels.count, by: 3) where img.pixels[i] > 150 && img.pixels[i + 2] < 100 { yellow += 1 }
        XCTAssertEqual(yellow, 0)
        // Tensors: NHWC float32 of size 224*224*3, caffe by default.
        let tensor = pre.tensor(result.frames[0])
        XCTAssertEqual(tensor.count, 224 * 224 * 3)
        XCTAssertEqual(tensor[0], -103.939, accuracy: 1e-4)  // black pixel, B channel first
    }

    // MARK: Regions are used when present and nothing is decoded to find the crop
    func testRegionsDecideTheCropWithoutAnalysisDecodes() throws {
        let box = us.sectorBox
        let counting = CountingSource(PictureSource(instanceKey: "1.2.4", pictures: (0..<12).map { us.frame($0) },
                                                    regions: [region(box)]))
        let result = try FramePreprocessor(config: PreprocessConfig(frames: .first)).process(counting)
        XCTAssertEqual(result.crop, CropDecision(box: box, source: .regions))
        XCTAssertEqual(counting.decodes, 1)
    }

    // MARK: Cache: second run decodes nothing and gives identical pixels
    func testSecondRunComesFromTheCacheWithoutDecoding() throws {
        let cache = FrameCache(directory: cacheDirectory)
        let config = PreprocessConfig(frames: .uniform(4))
        let pictures = (0..<10).map { us.frame($0) }
        let first = CountingSource(PictureSource(instanceKey: "1.2.5", pictures: pictures))
        let a = try FramePreprocessor(config: config, cache: cache).process(first)
        XCTAssertGreaterThan(first.decodes, 0)
        let second = CountingSource(PictureSource(instanceKey: "1.2.5", pictures: pictures))
        var other = config; other.normalize = .imagenet  // normalisation does not change cached pixels
        let b = try FramePreprocessor(config: other, cache: cache).process(second)
        XCTAssertEqual(second.decodes, 0)
        XCTAssertTrue(b.frames.allSatisfy(\.fromCache))
        XCTAssertEqual(a.frames.map(\.image), b.frames.map(\.image))
        XCTAssertEqual(a.crop, b.crop)
        XCTAssertEqual(a.frames.map(\.decode), b.frames.map(\.decode))
        // A different crop mode is a different key: decoded again.
        var changed = config; changed.crop = .none
        let third = CountingSource(PictureSource(instanceKey: "1.2.5", pictures: pictures))
        _ = try FramePreprocessor(config: changed, cache: cache).process(third)
        XCTAssertEqual(third.decodes, 4)
    }

    // MARK: Cache is safe to delete and bounded
    func testDeletedOrCorruptEntriesAreMissesAndTheBoundEvictsOldest() throws {
        let cache = FrameCache(directory: cacheDirectory, maxBytes: 40_000)
        let image = RGBImage(width: 64, height: 64, fill: (1, 2, 3))  // ~12.3 kB per entry
        let crop = CropDecision(box: PixelRect(x: 0, y: 0, width: 64, height: 64), source: .none)
        let keys = (0..<5).map { FrameCache.key(sopInstanceUID: "1.2", frame: $0, pixelHash: "h") }
        for (i, key) in keys.enumerated() {
            try cache.store(.init(image: image, crop: crop), key: key)
            // Distinct modification times so the eviction order is defined.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000 + Double(i))],
                                                  ofItemAtPath: cache.url(forKey: key).path)
        }
        XCTAssertLessThanOrEqual(cache.currentSize(), 40_000)
        XCTAssertNil(cache.load(key: keys[0]), "the oldest entry is evicted first")
        XCTAssertEqual(cache.load(key: keys[4])?.image, image)
        // Corrupt entry: a miss, not an error.
        try Data("garbage".utf8).write(to: cache.url(forKey: keys[4]))
        XCTAssertNil(cache.load(key: keys[4]))
        // Whole folder deleted: misses, and the next store recreates it.
        try FileManager.default.removeItem(at: cacheDirectory)
        XCTAssertNil(cache.load(key: keys[3]))
        try cache.store(.init(image: image, crop: crop), key: keys[3])
        XCTAssertEqual(cache.load(key: keys[3])?.crop, crop)
        // No temporary files are left behind by atomic writes.
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: cacheDirectory.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    // MARK: LRU: a hit refreshes its entry, so eviction removes the least recently *used*
    // Three entries stored oldest-first (times 1, 2, 3), then the oldest is read: an
    // implementation that evicted by store time (FIFO), or whose hit did not touch the entry,
    // would drop entry 0; LRU drops entry 1, the least recently used, and keeps the one just read.
    func testAHitRefreshesItsEntryForEviction() throws {
        let image = RGBImage(width: 64, height: 64, fill: (9, 8, 7))  // ~12.3 kB per entry
        let crop = CropDecision(box: PixelRect(x: 0, y: 0, width: 64, height: 64), source: .none)
        let keys = (0..<4).map { FrameCache.key(sopInstanceUID: "1.3", frame: $0, pixelHash: "h") }
        let unbounded = FrameCache(directory: cacheDirectory, maxBytes: 1 << 30)
        for (i, key) in keys.prefix(3).enumerated() {
            try unbounded.store(.init(image: image, crop: crop), key: key)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000 + Double(i))],
                                                  ofItemAtPath: unbounded.url(forKey: key).path)
        }
        XCTAssertEqual(unbounded.load(key: keys[0])?.image, image)  // the hit
        let touched = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: unbounded.url(forKey: keys[0]).path)[.modificationDate] as? Date)
        XCTAssertGreaterThan(touched, Date(timeIntervalSince1970: 2_000_000), "the hit touched its entry")
        // A fourth entry over a bound of 3.2 entries: evict down to 90% (2.9 entries) = two removed.
        let entryBytes = unbounded.currentSize() / 3
        let bounded = FrameCache(directory: cacheDirectory, maxBytes: entryBytes * 32 / 10)
        try bounded.store(.init(image: image, crop: crop), key: keys[3])
        XCTAssertNotNil(bounded.load(key: keys[0]), "the entry just read survives")
        XCTAssertNotNil(bounded.load(key: keys[3]), "the newest survives")
        XCTAssertNil(bounded.load(key: keys[1]), "the least recently used is evicted")
        XCTAssertNil(bounded.load(key: keys[2]))
    }

    // MARK: Batches are NHWC, one normalised frame after another
    func testWriteBatchConcatenatesTensors() throws {
        let pre = FramePreprocessor(config: PreprocessConfig(frames: .all, crop: .none, normalize: .unit, size: 16))
        let result = try pre.process(PictureSource(instanceKey: "k", pictures: [us.frame(0), us.frame(1)]))
        var batch = [Float](repeating: .nan, count: 2 * 16 * 16 * 3)
        batch.withUnsafeMutableBufferPointer { pre.writeBatch(result.frames, into: $0) }
        XCTAssertEqual(Array(batch[0..<768]), pre.tensor(result.frames[0]))
        XCTAssertEqual(Array(batch[768...]), pre.tensor(result.frames[1]))
    }
}
