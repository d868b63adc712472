/// A monochrome bitmap font drawn the way Pillow draws a PILfont (`ImageDraw.text` with an
/// `ImageFont.ImageFont`): crisp pixels, no anti-aliasing.
///
/// Pillow renders a string into a mask of width Σ advance and height `lineHeight`, the pen at
/// x = 0, by pasting each glyph's box in turn at pen + (x, y): a later glyph's box overwrites
/// what an earlier one spilled into it, and everything is clipped to the mask. The text's pixels
/// are the mask's set pixels, placed with the mask's top-left at the drawing position.
/// `pillowDefault` (PillowDefaultFont.swift) is generated from Pillow's own font by
/// scripts/samples/make_bitmap_font.py, which also checks this procedure against ImageDraw.text.
public struct BitmapFont: Sendable {
    public struct Glyph: Sendable {
        /// Pen advance (pixels).
        public let advance: Int
        /// Top-left of the glyph's box relative to the pen position at the top of the line.
        public let x: Int, y: Int
        public let width: Int
        /// One row per line of the box, bit c = column c.
        public let rows: [UInt16]

        public init(advance: Int, x: Int, y: Int, width: Int, rows: [UInt16]) {
            self.advance = advance
            self.x = x
            self.y = y
            self.width = width
            self.rows = rows
        }
    }

    public let lineHeight: Int
    public let firstCharacter: Int
    public let glyphs: [Glyph]

    public init(lineHeight: Int, firstCharacter: Int, glyphs: [Glyph]) {
        self.lineHeight = lineHeight
        self.firstCharacter = firstCharacter
        self.glyphs = glyphs
    }

    /// The glyph of a character; characters the font does not have are drawn as "?".
    func glyph(_ c: Character) -> Glyph {
        if let v = c.asciiValue, Int(v) >= firstCharacter, Int(v) - firstCharacter < glyphs.count {
            return glyphs[Int(v) - firstCharacter]
        }
        return glyphs[Int(Character("?").asciiValue!) - firstCharacter]
    }

    /// The text's width in pixels (Pillow's `getbbox(text)[2]`).
    public func width(of text: String) -> Int { text.reduce(0) { $0 + glyph($1).advance } }

    /// The text's mask, row-major, `width(of:)` × `lineHeight` (true = ink).
    public func mask(_ text: String) -> (width: Int, pixels: [Bool]) {
        let w = width(of: text)
        var pixels = [Bool](repeating: false, count: w * lineHeight)
        var pen = 0
        for c in text {
            let g = glyph(c)
            for (row, bits) in g.rows.enumerated() {
                let y = g.y + row
                guard y >= 0, y < lineHeight else { continue }
                for col in 0..<g.width {
                    let x = pen + g.x + col
                    guard x >= 0, x < w else { continue }
                    pixels[y * w + x] = (bits >> UInt16(col)) & 1 == 1
                }
            }
            pen += g.advance
        }
        return (w, pixels)
    }
}
