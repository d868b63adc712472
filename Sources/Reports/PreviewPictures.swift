import Imaging
import Preprocess

/// Pictures that let a user check preprocessing by eye: the decoded frame with its crop box, and
/// contact sheets of what the network sees.
public enum PreviewPictures {
    /// The colour of a crop box by its source: green for DICOM regions, orange for the pixel
    /// heuristic, grey for no crop.
    public static func colour(of source: CropSource) -> (UInt8, UInt8, UInt8) {
        switch source {
        case .regions: return (40, 220, 60)
        case .auto: return (255, 150, 0)
        case .none: return (160, 160, 160)
        }
    }

    /// `image` with the outline of `box` drawn `thickness` pixels wide just outside the box (so
    /// the kept pixels stay visible), clipped to the picture.
    public static func drawing(_ box: PixelRect, on image: RGBImage, colour: (UInt8, UInt8, UInt8), thickness: Int = 2) -> RGBImage {
        var out = image
        let outer = PixelRect(x: box.x - thickness, y: box.y - thickness,
                              width: box.width + 2 * thickness, height: box.height + 2 * thickness)
        for y in max(0, outer.y)..<min(image.height, outer.maxY) {
            for x in max(0, outer.x)..<min(image.width, outer.maxX) {
                let inside = x >= box.x && x < box.maxX && y >= box.y && y < box.maxY
                if !inside { out[x, y] = colour }
            }
        }
        return out
    }

    /// `image` scaled (area filter, aspect kept, padded black) into a `side` x `side` square.
    public static func thumbnail(_ image: RGBImage, side: Int) -> RGBImage {
        ResizePlan(sourceWidth: image.width, sourceHeight: image.height, size: side, aspect: .pad)
            .apply(to: image, region: PixelRect(x: 0, y: 0, width: image.width, height: image.height), interpolation: .area)
    }

    /// Tiles laid out in rows of `columns` on a dark grey background with `gap` pixels between.
    public static func sheet(_ tiles: [RGBImage], columns: Int, gap: Int = 6) -> RGBImage {
        guard let first = tiles.first else { return RGBImage(width: 1, height: 1) }
        let tw = tiles.map(\.width).max() ?? first.width, th = tiles.map(\.height).max() ?? first.height
        let cols = max(1, min(columns, tiles.count)), rows = (tiles.count + cols - 1) / cols
        var out = RGBImage(width: cols * tw + (cols + 1) * gap, height: rows * th + (rows + 1) * gap, fill: (32, 32, 32))
        for (i, tile) in tiles.enumerated() {
            let ox = gap + (i % cols) * (tw + gap), oy = gap + (i / cols) * (th + gap)
            for y in 0..<tile.height { for x in 0..<tile.width { out[ox + x, oy + y] = tile[x, y] } }
        }
        return out
    }

    /// Two pictures side by side (`gap` pixels apart), tops aligned.
    public static func pair(_ left: RGBImage, _ right: RGBImage, gap: Int = 4) -> RGBImage {
        sheet([left, right], columns: 2, gap: gap)
    }
}
