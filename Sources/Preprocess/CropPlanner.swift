import DICOM
import Imaging

/// Where a crop box came from, recorded with every preprocessed frame.
public enum CropSource: String, Codable, Sendable {
    /// Union of the tissue regions of (0018,6011).
    case regions
    /// Found from the pixels (`CropPlanner.automatic`).
    case auto
    /// The whole frame.
    case none
}

/// The crop of one instance (all its frames share it) and how it was decided.
public struct CropDecision: Codable, Equatable, Sendable {
    /// The kept pixels, inside the frame.
    public let box: PixelRect
    public let source: CropSource
    /// Fallbacks and ignored regions, in words a user can act on.
    public let warnings: [String]

    public init(box: PixelRect, source: CropSource, warnings: [String] = []) {
        self.box = box
        self.source = source
        self.warnings = warnings
    }
}

/// Decides the crop box of an instance.
public enum CropPlanner {
    /// The crop for `mode`. `analysisFrames` supplies decoded frames for `auto` (and for the
    /// `regions` fallback) and is only called when needed, so a file with regions is never
    /// decoded just to find its crop.
    public static func decide(mode: CropMode, regions: [UltrasoundRegion], width: Int, height: Int,
                              analysisFrames: () throws -> [RGBImage]) rethrows -> CropDecision {
        let whole = PixelRect(x: 0, y: 0, width: width, height: height)
        switch mode {
        case .none:
            return CropDecision(box: whole, source: .none)
        case .regions:
            let misfits = regionsOutside(regions, width: width, height: height)
            if !misfits.isEmpty {
                // Regions share one coordinate system: one that overhangs the image says the whole
                // sequence was written for another matrix (an acquisition larger than the stored
                // image), and clamping it would crop the wrong part of the picture.
                let auto = automatic(frames: try analysisFrames(), width: width, height: height)
                return CropDecision(box: auto.box, source: .auto,
                                    warnings: untrustedRegionWarnings(regions, width: width, height: height) + auto.warnings)
            }
            if let (box, warnings) = tissueUnion(regions, width: width, height: height) {
                return CropDecision(box: box, source: .regions, warnings: warnings)
            }
            let why = regions.isEmpty
                ? "no Sequence of Ultrasound Regions (0018,6011); crop found from the pixels instead"
                : "no usable tissue region (RegionDataType 1) among \(regions.count) ultrasound regions; crop found from the pixels instead"
            let auto = automatic(frames: try analysisFrames(), width: width, height: height)
            return CropDecision(box: auto.box, source: .auto, warnings: [why] + auto.warnings)
        case .auto:
            let auto = automatic(frames: try analysisFrames(), width: width, height: height)
            return CropDecision(box: auto.box, source: .auto, warnings: auto.warnings)
        }
    }

    // MARK: Regions

    /// The regions (with their 0-based position in the sequence) that do not lie inside the
    /// `width` x `height` image: inclusive bounds must satisfy 0 <= MinX0 <= MaxX1 < Columns and
    /// 0 <= MinY0 <= MaxY1 < Rows (PS3.3 C.8.5.5.1.1). Any such region makes `decide` distrust the
    /// whole sequence and fall back to `auto`.
    public static func regionsOutside(_ regions: [UltrasoundRegion], width: Int, height: Int)
        -> [(index: Int, region: UltrasoundRegion)] {
        regions.enumerated().filter { _, r in
            !(r.minX0 >= 0 && r.minX0 <= r.maxX1 && r.maxX1 < width && r.minY0 >= 0 && r.minY0 <= r.maxY1 && r.maxY1 < height)
        }.map { (index: $0.offset, region: $0.element) }
    }

    /// The warnings `decide` records for the regions that do not fit (one per region, in
    /// sequence order; empty when all fit). Workflows print them with the file's path.
    public static func untrustedRegionWarnings(_ regions: [UltrasoundRegion], width: Int, height: Int) -> [String] {
        regionsOutside(regions, width: width, height: height).map { misfitWarning($0, width: width, height: height) }
    }

    /// True for a warning made by `misfitWarning` (a crop decision's warnings mix several kinds).
    public static func isUntrustedRegionWarning(_ warning: String) -> Bool {
        warning.hasPrefix("ultrasound region #") && warning.contains(untrustedMarker)
    }

    static let untrustedMarker = "are not trusted: crop found from the pixels instead (auto)"

    /// The warning recorded for a region that does not fit: which item, its bounds, the image size.
    static func misfitWarning(_ misfit: (index: Int, region: UltrasoundRegion), width: Int, height: Int) -> String {
        let r = misfit.region
        return "ultrasound region #\(misfit.index + 1) of (0018,6011) (\(r.dataTypeName), columns \(r.minX0)...\(r.maxX1), "
            + "rows \(r.minY0)...\(r.maxY1)) does not fit inside the \(width) x \(height) image (Columns x Rows); "
            + "the regions were written for another image size and " + untrustedMarker
    }

    /// The union of the tissue regions (RegionDataType 1) that share one physical spacing.
    ///
    /// Regions with different spacing (a zoomed inset beside the main sector, a dual view at two
    /// depths) are never mixed: one picture with two pixel sizes would teach the network a false
    /// geometry. The group with the most regions wins (ties: the larger union area, then the
    /// first listed) and the others are named in a warning. Bounds are DICOM-inclusive and are
    /// clipped to the frame. Returns nil when no tissue region overlaps the frame.
    public static func tissueUnion(_ regions: [UltrasoundRegion], width: Int, height: Int)
        -> (box: PixelRect, warnings: [String])? {
        let frame = PixelRect(x: 0, y: 0, width: width, height: height)
        let tissue = regions.enumerated().filter { $0.element.isTissue && !$0.element.bounds.intersection(frame).isEmpty }
        guard !tissue.isEmpty else { return nil }
        var groups: [[(offset: Int, element: UltrasoundRegion)]] = []
        for item in tissue {
            if let g = groups.firstIndex(where: { sameSpacing($0[0].element, item.element) }) {
                groups[g].append(item)
            } else {
                groups.append([item])
            }
        }
        func union(_ g: [(offset: Int, element: UltrasoundRegion)]) -> PixelRect {
            g.reduce(PixelRect(x: 0, y: 0, width: 0, height: 0)) { $0.union($1.element.bounds) }.intersection(frame)
        }
        var best = 0
        for i in 1..<groups.count {
            let a = groups[i], b = groups[best]
            let ua = union(a), ub = union(b)
            if a.count > b.count || (a.count == b.count && ua.width * ua.height > ub.width * ub.height) { best = i }
        }
        var warnings: [String] = []
        for (i, g) in groups.enumerated() where i != best {
            let items = g.map { "#\($0.offset + 1)" }.joined(separator: ", ")
            warnings.append("tissue region(s) \(items) of (0018,6011) have a different physical spacing "
                + "(\(spacingText(g[0].element)) vs \(spacingText(groups[best][0].element))) and were left out of the crop")
        }
        return (union(groups[best]), warnings)
    }

    static func sameSpacing(_ a: UltrasoundRegion, _ b: UltrasoundRegion) -> Bool {
        func close(_ x: Double?, _ y: Double?) -> Bool {
            switch (x, y) {
            case (nil, nil): return true
            case let (x?, y?): return abs(x - y) <= 1e-6 * max(abs(x), abs(y))
            default: return false
            }
        }
        return a.physicalUnitsX == b.physicalUnitsX && a.physicalUnitsY == b.physicalUnitsY
            && close(a.physicalDeltaX, b.physicalDeltaX) && close(a.physicalDeltaY, b.physicalDeltaY)
    }

    static func spacingText(_ r: UltrasoundRegion) -> String {
        let dx = r.physicalDeltaX.map { "\($0)" } ?? "?", dy = r.physicalDeltaY.map { "\($0)" } ?? "?"
        return "\(dx) x \(dy)"
    }

    // MARK: Automatic

    /// A sample counts as signal above this level (black backgrounds of ultrasound exports sit
    /// at 0–5 after JPEG compression).
    public static let signalThreshold = 12
    /// A pixel of a cine loop counts as moving when some channel varies by more than this across
    /// the analysed frames (compression noise of static overlays stays below it).
    public static let motionThreshold = 12
    /// Side of the blocks on which connected parts are found.
    static let blockSide = 8
    /// A block of the motion mask is on when this fraction of its pixels moves: speckle
    /// decorrelates everywhere in tissue, while a static overlay never moves at all.
    static let motionBlockFraction = 1.0 / 16
    /// A block of the signal mask is on when this fraction of its pixels is bright: speckle fills
    /// tissue densely, while text strokes and ruler ticks cover well under half of a block, so
    /// overlays do not form parts (nor bridges between the image and other overlays).
    static let signalBlockFraction = 1.0 / 2

    /// The box of the image content, found from the pixels.
    ///
    /// 1. Mask: with two or more frames (a cine loop), the pixels that change across the frames
    ///    (`max - min > motionThreshold` in some channel): burned-in text, rulers, logos and
    ///    colour bars do not move and drop out. With one frame, or when nothing moves (a frozen
    ///    loop), the pixels brighter than `signalThreshold` in the per-pixel maximum of the frames.
    /// 2. The mask is summarised on 8x8 blocks (a block is on when at least 1/16 of its pixels
    ///    move, or half of its pixels are bright for the signal mask) and split into
    ///    8-connected parts of on blocks.
    /// 3. The box is the pixel-exact bounding box of the masked pixels in the largest part and in
    ///    every part at least 20% as large (dual views), plus the sparse rim in the blocks next to
    ///    them. Text, rulers, frame counters and noise that do not touch the image's blocks are
    ///    left out even on a single frame; overlays touching it join its part, and only motion
    ///    (a cine loop) separates static ones.
    /// An empty mask gives the whole frame, with a warning.
    public static func automatic(frames: [RGBImage], width: Int, height: Int) -> (box: PixelRect, warnings: [String]) {
        let whole = PixelRect(x: 0, y: 0, width: width, height: height)
        let usable = frames.filter { $0.width == width && $0.height == height }
        guard !usable.isEmpty, width > 0, height > 0 else {
            return (whole, ["no decoded frame to find the crop from; using the whole frame"])
        }
        var warnings: [String] = []
        var mask: [Bool]
        var fraction = motionBlockFraction
        if usable.count >= 2 {
            mask = motionMask(usable)
            let moving = mask.reduce(0) { $0 + ($1 ? 1 : 0) }
            if moving < width * height / 200 {
                warnings.append("the cine loop barely moves (\(moving) moving pixels); crop from non-background pixels, burned-in text may be kept")
                mask = signalMask(usable)
                fraction = signalBlockFraction
            }
        } else {
            mask = signalMask(usable)
            fraction = signalBlockFraction
        }
        guard let box = dominantBox(mask: mask, width: width, height: height, minimumFraction: fraction) else {
            return (whole, warnings + ["no image content found (all pixels background); using the whole frame"])
        }
        return (box, warnings)
    }

    /// Pixels whose samples vary across the frames by more than `motionThreshold`.
    static func motionMask(_ frames: [RGBImage]) -> [Bool] {
        let count = frames[0].pixels.count
        var low = frames[0].pixels, high = frames[0].pixels
        low.withUnsafeMutableBufferPointer { lo in
            high.withUnsafeMutableBufferPointer { hi in
                for f in frames.dropFirst() {
                    f.pixels.withUnsafeBufferPointer { p in
                        for i in 0..<count {
                            let v = p[i]
                            if v < lo[i] { lo[i] = v }
                            if v > hi[i] { hi[i] = v }
                        }
                    }
                }
            }
        }
        let n = count / 3
        var mask = [Bool](repeating: false, count: n)
        for i in 0..<n {
            let r = Int(high[3 * i]) - Int(low[3 * i])
            let g = Int(high[3 * i + 1]) - Int(low[3 * i + 1])
            let b = Int(high[3 * i + 2]) - Int(low[3 * i + 2])
            mask[i] = max(r, g, b) > motionThreshold
        }
        return mask
    }

    /// Pixels brighter than `signalThreshold` in some channel of some frame.
    static func signalMask(_ frames: [RGBImage]) -> [Bool] {
        let n = frames[0].width * frames[0].height
        var mask = [Bool](repeating: false, count: n)
        for f in frames {
            f.pixels.withUnsafeBufferPointer { p in
                for i in 0..<n where !mask[i] {
                    mask[i] = Int(max(p[3 * i], p[3 * i + 1], p[3 * i + 2])) > signalThreshold
                }
            }
        }
        return mask
    }

    /// Steps 2 and 3 of `automatic`.
    static func dominantBox(mask: [Bool], width: Int, height: Int, minimumFraction: Double) -> PixelRect? {
        let side = blockSide
        let bw = (width + side - 1) / side, bh = (height + side - 1) / side
        var counts = [Int](repeating: 0, count: bw * bh)
        for y in 0..<height {
            let row = (y / side) * bw
            for x in 0..<width where mask[y * width + x] { counts[row + x / side] += 1 }
        }
        var on = [Bool](repeating: false, count: bw * bh)
        for by in 0..<bh {
            for bx in 0..<bw {
                let pixels = (min(side, width - bx * side)) * (min(side, height - by * side))
                on[by * bw + bx] = counts[by * bw + bx] > 0 && Double(counts[by * bw + bx]) >= minimumFraction * Double(pixels)
            }
        }
        // Connected parts (8-connected) of the blocks that are on; a part's weight is its block count.
        var label = [Int](repeating: -1, count: bw * bh)
        var weights: [Int] = []
        var stack: [Int] = []
        for start in 0..<(bw * bh) where on[start] && label[start] < 0 {
            let id = weights.count
            var weight = 0
            label[start] = id
            stack.append(start)
            while let b = stack.popLast() {
                weight += 1
                let bx = b % bw, by = b / bw
                for dy in -1...1 {
                    for dx in -1...1 {
                        let x = bx + dx, y = by + dy
                        guard x >= 0, x < bw, y >= 0, y < bh else { continue }
                        let nb = y * bw + x
                        if on[nb] && label[nb] < 0 { label[nb] = id; stack.append(nb) }
                    }
                }
            }
            weights.append(weight)
        }
        guard let largest = weights.max(), largest > 0 else { return nil }
        let keptPart = weights.map { $0 * 5 >= largest }
        // A block is kept when it, or a block next to it, belongs to a kept part: the rim of the
        // image (a sector's arc, a thin first row) has too few pixels for its own blocks to be on.
        var keptBlock = [Bool](repeating: false, count: bw * bh)
        for b in 0..<(bw * bh) where label[b] >= 0 && keptPart[label[b]] {
            let bx = b % bw, by = b / bw
            for dy in -1...1 { for dx in -1...1 {
                let x = bx + dx, y = by + dy
                if x >= 0, x < bw, y >= 0, y < bh, label[y * bw + x] < 0 { keptBlock[y * bw + x] = true }
            } }
            keptBlock[b] = true
        }
        var x0 = width, y0 = height, x1 = -1, y1 = -1
        for y in 0..<height {
            let row = (y / side) * bw
            for x in 0..<width where mask[y * width + x] {
                let b = row + x / side
                guard keptBlock[b] else { continue }
                if x < x0 { x0 = x }
                if x > x1 { x1 = x }
                if y < y0 { y0 = y }
                if y > y1 { y1 = y }
            }
        }
        guard x1 >= x0, y1 >= y0 else { return nil }
        return PixelRect(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
    }
}
