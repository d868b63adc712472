import Foundation

/// Damaged DICOM files made byte by byte for the mutation tests (DICOMTests.MutationTests,
/// CLITests.MutantCommandTests): a header element's VR or length corrupted, and sequences nested
/// thousands deep. Written as raw bytes because no DICOM writer (DCMTK's included) can produce them.
public enum DicomMutants {
    /// One element of a file's header: where its VR and length field are.
    public struct Element: CustomStringConvertible {
        public let group: UInt16
        public let element: UInt16
        /// Offset of the tag in the file.
        public let offset: Int
        /// Offset of the two VR characters (nil: implicit VR).
        public let vrOffset: Int?
        /// Offset and size (2 or 4 bytes) of the length field.
        public let lengthOffset: Int
        public let lengthSize: Int
        public let length: UInt32
        public let bigEndian: Bool
        public var description: String { String(format: "(%04X,%04X)@%d", group, element, offset) }
    }

    /// The elements of the meta header and of the top level of the data set, in file order, up
    /// to Pixel Data or the first element whose length is undefined (included), for files with the
    /// Part 10 preamble in explicit or implicit VR little endian or explicit VR big endian. Empty
    /// for other files (deflated ones, say).
    public static func headerElements(of data: Data) -> [Element] {
        let bytes = [UInt8](data)
        guard bytes.count > 132, bytes[128..<132].elementsEqual("DICM".utf8) else { return [] }
        var elements: [Element] = []
        var at = 132, syntax = ""
        func u16(_ i: Int, _ be: Bool) -> UInt16 { be ? UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) : UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8 }
        func u32(_ i: Int, _ be: Bool) -> UInt32 {
            be ? UInt32(u16(i, true)) << 16 | UInt32(u16(i + 2, true)) : UInt32(u16(i, false)) | UInt32(u16(i + 2, false)) << 16
        }
        let longVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]
        var meta = true
        var explicit = true, bigEndian = false
        while at + 8 <= bytes.count {
            let group = u16(at, bigEndian), element = u16(at + 2, bigEndian)
            if meta && group != 0x0002 {
                meta = false
                if syntax == "1.2.840.10008.1.2" { explicit = false }
                if syntax == "1.2.840.10008.1.2.2" { bigEndian = true }
                if syntax == "1.2.840.10008.1.2.1.99" { return elements }   // deflated: the rest is compressed
                continue
            }
            let e: Element
            if explicit {
                let vr = String(decoding: bytes[(at + 4)..<(at + 6)], as: UTF8.self)
                if longVRs.contains(vr) {
                    guard at + 12 <= bytes.count else { break }
                    e = Element(group: group, element: element, offset: at, vrOffset: at + 4, lengthOffset: at + 8, lengthSize: 4,
                                length: u32(at + 8, bigEndian), bigEndian: bigEndian)
                } else {
                    e = Element(group: group, element: element, offset: at, vrOffset: at + 4, lengthOffset: at + 6, lengthSize: 2,
                                length: UInt32(u16(at + 6, bigEndian)), bigEndian: bigEndian)
                }
            } else {
                e = Element(group: group, element: element, offset: at, vrOffset: nil, lengthOffset: at + 4, lengthSize: 4,
                            length: u32(at + 4, false), bigEndian: false)
            }
            elements.append(e)
            if e.length == 0xFFFF_FFFF || (group == 0x7FE0 && element == 0x0010) { break }
            let valueStart = e.lengthOffset + e.lengthSize
            if meta && element == 0x0010, valueStart + Int(e.length) <= bytes.count {
                syntax = String(decoding: bytes[valueStart..<(valueStart + Int(e.length))], as: UTF8.self)
                    .trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
            }
            at = valueStart + Int(e.length)
        }
        return elements
    }

    /// The header corruptions tried at each element.
    public enum Mutation: String, CaseIterable, Sendable {
        /// The VR bytes replaced by two bytes that are no VR (00 00).
        case invalidVR
        /// A valid but different VR whose length field has the other size (a 2-byte-length VR
        /// becomes OB, a 4-byte one CS), so the parser frames everything after it differently.
        case otherVR
        /// The length set to 0xFFFFFFFF (undefined, as only sequences and encapsulated pixel
        /// data may have) or, in a 2-byte field, 0xFFFF.
        case undefinedLength
        /// The length made odd (DICOM values have even lengths).
        case oddLength
        /// The length pointing past the end of the file (or the largest 2-byte length).
        case lengthPastEnd
    }

    /// `data` with `mutation` applied at `element`; nil when it does not apply (a VR mutation
    /// on implicit VR data).
    public static func apply(_ mutation: Mutation, at element: Element, in data: Data) -> Data? {
        var bytes = [UInt8](data)
        func setLength(_ value: UInt32) {
            let v = element.lengthSize == 2 ? min(value, 0xFFFF) : value
            for i in 0..<element.lengthSize {
                let shift = element.bigEndian ? 8 * (element.lengthSize - 1 - i) : 8 * i
                bytes[element.lengthOffset + i] = UInt8(truncatingIfNeeded: v >> UInt32(shift))
            }
        }
        switch mutation {
        case .invalidVR:
            guard let vr = element.vrOffset else { return nil }
            bytes[vr] = 0; bytes[vr + 1] = 0
        case .otherVR:
            guard let vr = element.vrOffset else { return nil }
            let other = Array((element.lengthSize == 2 ? "OB" : "CS").utf8)
            bytes[vr] = other[0]; bytes[vr + 1] = other[1]
        case .undefinedLength:
            setLength(0xFFFF_FFFF)
        case .oddLength:
            setLength(element.length | 1 == element.length ? element.length ^ 2 : element.length | 1)
        case .lengthPastEnd:
            setLength(UInt32(clamping: bytes.count - element.lengthOffset))
        }
        return Data(bytes)
    }

    /// How the nested sequences of `nestedSequences` are encoded.
    public enum Nesting: String, CaseIterable, Sendable {
        /// Explicit VR little endian, every sequence and item of undefined length (delimiters).
        case explicitUndefinedLengths
        /// Explicit VR little endian, every sequence and item with its exact length.
        case explicitDefinedLengths
        /// Implicit VR little endian (the dictionary says (0008,1115) is SQ), undefined lengths.
        case implicitUndefinedLengths
        /// Explicit VR big endian, undefined lengths.
        case bigEndianUndefinedLengths
        /// No preamble or meta header (an ACR-NEMA style data set), explicit VR little endian.
        case noPreamble
    }

    /// A Part 10 file (a Basic Text SR SOP class, no pixel data) whose data set holds `depth`
    /// Referenced Series Sequences (0008,1115), each the one item of the one before, followed by
    /// Patient's Name "Deep^Nest" (after the nesting, so a reader that gets there has read it all).
    public static func nestedSequences(depth: Int, _ nesting: Nesting) -> Data {
        let bigEndian = nesting == .bigEndianUndefinedLengths
        var out = Data()
        func u16(_ v: UInt16, _ be: Bool) { out.append(contentsOf: be ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)]) }
        func u32(_ v: UInt32, _ be: Bool) {
            if be { u16(UInt16(v >> 16), true); u16(UInt16(v & 0xFFFF), true) } else { u16(UInt16(v & 0xFFFF), false); u16(UInt16(v >> 16), false) }
        }
        func element(_ g: UInt16, _ e: UInt16, _ vr: String, _ value: [UInt8], be: Bool = bigEndian, implicit: Bool = false) {
            var value = value
            if value.count % 2 == 1 { value.append(vr == "UI" ? 0 : 0x20) }
            u16(g, be); u16(e, be)
            if implicit { u32(UInt32(value.count), be) } else {
                out.append(contentsOf: Array(vr.utf8))
                if ["OB", "SQ", "UN", "UT"].contains(vr) { u16(0, be); u32(UInt32(value.count), be) } else { u16(UInt16(value.count), be) }
            }
            out.append(contentsOf: value)
        }
        let sopClass = Array("1.2.840.10008.5.1.4.1.1.88.11".utf8)
        let syntax = nesting == .implicitUndefinedLengths ? "1.2.840.10008.1.2" : bigEndian ? "1.2.840.10008.1.2.2" : "1.2.840.10008.1.2.1"
        let implicit = nesting == .implicitUndefinedLengths
        if nesting != .noPreamble {
            out.append(Data(count: 128))
            out.append(contentsOf: Array("DICM".utf8))
            let metaStart = out.count
            element(0x0002, 0x0000, "UL", [0, 0, 0, 0], be: false)   // group length, filled in below
            element(0x0002, 0x0001, "OB", [0, 1], be: false)
            element(0x0002, 0x0002, "UI", sopClass, be: false)
            element(0x0002, 0x0003, "UI", Array("1.2.826.0.1.3680043.2.1143.9.1".utf8), be: false)
            element(0x0002, 0x0010, "UI", Array(syntax.utf8), be: false)
            let metaLength = UInt32(out.count - metaStart - 12)
            out.replaceSubrange((metaStart + 8)..<(metaStart + 12), with: [UInt8(metaLength & 0xFF), UInt8(metaLength >> 8 & 0xFF), 0, 0])
        }
        element(0x0008, 0x0016, "UI", sopClass, implicit: implicit)
        element(0x0008, 0x0018, "UI", Array("1.2.826.0.1.3680043.2.1143.9.1".utf8), implicit: implicit)
        element(0x0008, 0x0060, "CS", Array("SR".utf8), implicit: implicit)
        func sequenceHeader(length: UInt32) {
            u16(0x0008, bigEndian); u16(0x1115, bigEndian)
            if implicit { u32(length, false) } else { out.append(contentsOf: Array("SQ".utf8)); u16(0, bigEndian); u32(length, bigEndian) }
        }
        func item(_ g: UInt16, _ length: UInt32) { u16(0xFFFE, bigEndian); u16(g, bigEndian); u32(length, bigEndian) }
        let sequenceHeaderSize = implicit ? 8 : 12
        for level in 0..<depth {
            if nesting == .explicitDefinedLengths {
                // Below this level: (depth - 1 - level) sequences, each with one item header.
                let inner = UInt32((depth - 1 - level) * (sequenceHeaderSize + 8))
                sequenceHeader(length: inner + 8)
                item(0xE000, inner)
            } else {
                sequenceHeader(length: 0xFFFF_FFFF)
                item(0xE000, 0xFFFF_FFFF)
            }
        }
        if nesting != .explicitDefinedLengths {
            for _ in 0..<depth { item(0xE00D, 0); item(0xE0DD, 0) }
        }
        element(0x0010, 0x0010, "PN", Array("Deep^Nest".utf8), implicit: implicit)
        return out
    }
}
