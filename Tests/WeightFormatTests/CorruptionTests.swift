import Foundation
import Testing
@testable import WeightFormat
import WeightconvCore

/// Every way docs/wcv-format.md section 9 lets a file be refused, one test per kind (after gguf's
/// test-gguf.cpp). Hostile edits recompute the header checksum so the check under test, not the
/// checksum, has to catch them.
@Suite struct CorruptionTests {
    typealias Kind = WeightFileProblem.Kind

    @Test func theUnbrokenRawImageOpensAndChecks() throws {
        #expect(try checkProblem(RawWCV.valid().encode()) == nil)
    }

    @Test func badMagic() {
        var raw = RawWCV.valid()
        raw.magic[1] = UInt8(ascii: "X")
        #expect(openProblem(raw.encode())?.kind == .badMagic)
        // A text-mode transfer turns \r\n into \n: caught by the magic alone.
        var image = RawWCV.valid().encode()
        image.remove(at: 4)
        #expect(openProblem(image)?.kind == .badMagic)
    }

    @Test func tooShortForAPreamble() {
        #expect(openProblem(Array(WCVFormat.magic.prefix(8)))?.kind == .tooShort)
        #expect(openProblem([])?.kind == .tooShort)
    }

    @Test func unsupportedVersion() {
        var raw = RawWCV.valid()
        raw.version = 2
        #expect(openProblem(raw.encode())?.kind == .unsupportedVersion(2))
    }

    @Test func unknownRequiredFlag() {
        var raw = RawWCV.valid()
        raw.flags = 0x10
        #expect(openProblem(raw.encode())?.kind == .unknownRequiredFlags(0x10))
    }

    @Test func headerLengthAboveTheLimit() {
        var raw = RawWCV.valid()
        raw.headerLength = UInt64(16 << 20) + 1
        #expect(openProblem(raw.encode())?.kind == .headerLengthOutOfRange(UInt64(16 << 20) + 1))
        raw.headerLength = UInt64.max
        #expect(openProblem(raw.encode())?.kind == .headerLengthOutOfRange(UInt64.max))
    }

    @Test func headerLengthBeyondTheFile() {
        var raw = RawWCV.valid()
        raw.headerLength = 1 << 20
        #expect(openProblem(raw.encode())?.kind == .truncatedHeader)
    }

    @Test func truncatedHeader() {
        let image = RawWCV.valid().encode()
        #expect(openProblem(Array(image.prefix(100)))?.kind == .truncatedHeader)
    }

    @Test func headerChecksumMismatch() {
        var raw = RawWCV.valid()
        raw.checksum = [UInt8](repeating: 7, count: 32)
        #expect(openProblem(raw.encode())?.kind == .headerChecksumMismatch)
    }

    @Test func dataOffsetNotTheImpliedOne() {
        var raw = RawWCV.valid()
        raw.dataOffset = 32768
        #expect(openProblem(raw.encode())?.kind == .badDataOffset)
    }

    @Test func dataLengthNotAPageMultiple() {
        var raw = RawWCV.valid()
        raw.dataLength = 100
        #expect(openProblem(raw.encode())?.kind == .badDataLength)
    }

    @Test func dataLengthLargerThanTheTensorsNeed() {
        var raw = RawWCV.valid()
        raw.data += [UInt8](repeating: 0, count: 16384)
        #expect(openProblem(raw.encode())?.kind == .dataLengthMismatch)
    }

    @Test func tensorCountBeyondWhatTheHeaderHolds() {
        var raw = RawWCV.valid()
        raw.tensorCount = UInt32.max
        #expect(openProblem(raw.encode())?.kind == .tooManyTensors)
    }

    @Test func tableRunsPastTheHeader() {
        var raw = RawWCV.valid()
        raw.tensorCount = 3
        // A third entry that declares rank 8 but the header ends 30 bytes later.
        raw.json = [1, 0, UInt8(ascii: "c"), 1, 8] + [UInt8](repeating: 0, count: 30)
        #expect(openProblem(raw.encode())?.kind == .tableBeyondHeader)
    }

    @Test func duplicateName() {
        var raw = RawWCV.valid()
        raw.entries[1].name = "a"
        #expect(openProblem(raw.encode())?.kind == .duplicateName("a"))
    }

    @Test func emptyNulAndNonUTF8Names() throws {
        var raw = RawWCV.valid()
        raw.entries[0].name = ""
        guard case .badName = openProblem(raw.encode())?.kind else { Issue.record("empty name accepted"); return }
        raw.entries[0].name = "a\u{0}b"
        guard case .badName = openProblem(raw.encode())?.kind else { Issue.record("NUL in a name accepted"); return }
        // Patch a name byte to 0xFF (never valid UTF-8) and re-seal the header.
        raw = RawWCV.valid()
        raw.entries[0].name = "q"
        var image = raw.encode()
        let nameOffset = 40 + 4 + 2
        #expect(image[nameOffset] == UInt8(ascii: "q"))
        image[nameOffset] = 0xFF
        reseal(&image)
        guard case .badName = openProblem(image)?.kind else { Issue.record("invalid UTF-8 name accepted"); return }
    }

    @Test func nameLongerThan1024Bytes() {
        var raw = RawWCV.valid()
        raw.entries[0].name = String(repeating: "n", count: 1025)
        guard case .badName = openProblem(raw.encode())?.kind else { Issue.record("long name accepted"); return }
    }

    @Test func unknownDTypeCode() {
        var raw = RawWCV.valid()
        raw.entries[0].dtypeCode = 11
        #expect(openProblem(raw.encode())?.kind == .unknownDType(tensor: "a", code: 11))
        raw.entries[0].dtypeCode = 0
        #expect(openProblem(raw.encode())?.kind == .unknownDType(tensor: "a", code: 0))
    }

    @Test func rankAboveEight() {
        var raw = RawWCV.valid()
        raw.entries[0].dims = [1, 1, 1, 1, 1, 1, 2, 3, 1]
        #expect(openProblem(raw.encode())?.kind == .rankTooLarge(tensor: "a", rank: 9))
    }

    @Test func dimensionProductOverflows() {
        var raw = RawWCV.valid()
        raw.entries[0].dims = [1 << 40, 1 << 30]
        #expect(openProblem(raw.encode())?.kind == .dimensionOverflow(tensor: "a"))
        raw.entries[0].dims = [UInt64.max]
        #expect(openProblem(raw.encode())?.kind == .dimensionOverflow(tensor: "a"))
        // Elements fit, bytes do not: 2^62 f32 elements.
        raw.entries[0].dims = [1 << 62]
        #expect(openProblem(raw.encode())?.kind == .dimensionOverflow(tensor: "a"))
    }

    @Test func byteLengthNotShapeTimesDTypeSize() {
        var raw = RawWCV.valid()
        raw.entries[0].byteLength = 28
        #expect(openProblem(raw.encode())?.kind == .byteLengthMismatch(tensor: "a", expected: 24, stored: 28))
    }

    @Test func misalignedOffset() {
        var raw = RawWCV.valid()
        raw.entries[1].offset = 32
        #expect(openProblem(raw.encode())?.kind == .misalignedOffset(tensor: "b"))
    }

    @Test func overlappingTensors() {
        var raw = RawWCV.valid()
        raw.entries[1].offset = 0
        #expect(openProblem(raw.encode())?.kind == .overlap(tensor: "b"))
    }

    @Test func offsetOutOfBounds() {
        var raw = RawWCV.valid()
        raw.entries[1].offset = 16384
        #expect(openProblem(raw.encode())?.kind == .outOfBounds(tensor: "b"))
        raw.entries[1].offset = UInt64.max - 63
        #expect(openProblem(raw.encode())?.kind == .outOfBounds(tensor: "b"))
        raw.entries[1].offset = UInt64(Int.max) - 63
        #expect(openProblem(raw.encode())?.kind == .outOfBounds(tensor: "b"))
    }

    @Test func gapBeforeATensor() {
        var raw = RawWCV.valid()
        raw.entries[1].offset = 128
        #expect(openProblem(raw.encode())?.kind == .gap(tensor: "b"))
    }

    @Test func truncatedDataNamesTheTensorCut() {
        let image = RawWCV.valid().encode()
        let dataStart = image.count - 16384
        let cut = openProblem(Array(image.prefix(dataStart + 66)))
        #expect(cut?.kind == .truncatedData(tensor: "b", fileSize: dataStart + 66, expected: image.count))
        #expect(cut?.tensor == "b")
        #expect(openProblem(Array(image.prefix(dataStart + 10)))?.tensor == "a")
        // Only tail padding cut: no tensor is hit, the file is still refused.
        guard case .truncatedData(nil, _, _) = openProblem(Array(image.prefix(image.count - 1)))?.kind else {
            Issue.record("cut in the tail padding not reported"); return
        }
    }

    @Test func trailingBytesAfterTheData() {
        #expect(openProblem(RawWCV.valid().encode() + [0])?.kind == .trailingBytes(fileSize: 16384 * 2 + 1, expected: 16384 * 2))
    }

    @Test func duplicateJSONKey() {
        var raw = RawWCV.valid()
        raw.json = Array(#"{"layout":"timm","metadata":{},"layout":"torchvision"}"#.utf8)
        guard case .json(let problem) = openProblem(raw.encode())?.kind, case .duplicateKey("layout") = problem.kind else {
            Issue.record("duplicate JSON key accepted"); return
        }
    }

    @Test func invalidUTF8InJSON() {
        var raw = RawWCV.valid()
        raw.json = Array(#"{"layout":""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8)
        guard case .json(let problem) = openProblem(raw.encode())?.kind, problem.kind == .invalidUTF8 else {
            Issue.record("invalid UTF-8 accepted"); return
        }
    }

    @Test func deepJSONNesting() {
        var raw = RawWCV.valid()
        raw.json = Array((#"{"metadata":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}").utf8)
        guard case .json(let problem) = openProblem(raw.encode())?.kind, problem.kind == .tooDeep(limit: 64) else {
            Issue.record("deep nesting accepted"); return
        }
    }

    @Test func jsonThatIsNotAnObjectOrHasWrongTypes() {
        var raw = RawWCV.valid()
        raw.json = Array("[1]".utf8)
        guard case .schema = openProblem(raw.encode())?.kind else { Issue.record("array document accepted"); return }
        raw.json = Array(#"{"layout":3}"#.utf8)
        guard case .schema = openProblem(raw.encode())?.kind else { Issue.record("numeric layout accepted"); return }
        raw.json = Array(#"{"provenance":{"source_name":"x"}}"#.utf8)
        guard case .schema = openProblem(raw.encode())?.kind else { Issue.record("incomplete provenance accepted"); return }
    }

    @Test func documentReferencesATensorThatIsNotThere() {
        var raw = RawWCV.valid()
        raw.json = Array(#"{"original_keys":{"zzz":"model.zzz"}}"#.utf8)
        guard case .schema = openProblem(raw.encode())?.kind else { Issue.record("stray original key accepted"); return }
        raw.json = Array(#"{"verification":{"input":"a","logits":"b","atol":0.001,"rtol":0,"top_k":5}}"#.utf8)
        // "b" is f16: verification tensors must be f32.
        guard case .schema = openProblem(raw.encode())?.kind else { Issue.record("f16 verification tensor accepted"); return }
    }

    @Test func nonZeroHeaderPadding() {
        var image = RawWCV.valid().encode()
        image[16384 - 1] = 1
        #expect(openProblem(image)?.kind == .nonZeroPadding(after: nil))
    }

    @Test func flippedBitInATensorIsNamedByTheFullCheck() throws {
        var image = RawWCV.valid().encode()
        let dataStart = image.count - 16384
        image[dataStart + 65] ^= 0x04
        #expect(openProblem(image) == nil, "opening does not read tensor data")
        let problem = try checkProblem(image)
        #expect(problem?.kind == .tensorChecksumMismatch(tensor: "b"))
        #expect(problem?.offset == dataStart + 64)
    }

    @Test func nonZeroPaddingBetweenTensors() throws {
        var image = RawWCV.valid().encode()
        let dataStart = image.count - 16384
        image[dataStart + 30] = 9
        #expect(try checkProblem(image)?.kind == .nonZeroPadding(after: "a"))
        image[dataStart + 30] = 0
        image[image.count - 1] = 9
        #expect(try checkProblem(image)?.kind == .nonZeroPadding(after: "b"))
    }

    /// The issue's acceptance test: any single changed byte of a writer-made file, and any
    /// truncation, is reported, and the report names the tensor or header the damage is in.
    @Test func everyFlippedByteAndEveryTruncationIsFoundAndLocated() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let image = try writtenImage(try sampleTensors(), document: sampleDocument(), in: folder)
        let file = try WeightFile(storage: MappedFile.copying(image), path: "memory")
        let dataOffset = file.header.dataOffset
        let headerEnd = 72 + file.header.headerLength
        let dataEnd = dataOffset + (file.header.entries.last.map { $0.offset + $0.byteLength } ?? 0)
        func owner(_ position: Int) -> String? {
            file.header.entries.first {
                (dataOffset + $0.offset)..<(dataOffset + $0.offset + $0.byteLength) ~= position
            }?.descriptor.name
        }
        // Every byte of the preamble, header, checksum and data; a stride through the zero padding.
        var positions = Array(0..<headerEnd) + Array(dataOffset..<(dataEnd + 64))
        positions += Array(stride(from: headerEnd, to: dataOffset, by: 251)) + Array(stride(from: dataEnd + 64, to: image.count, by: 251))
        var tested = 0
        for position in positions {
            for mask: UInt8 in [0x01, 0x80] {
                var damaged = image
                damaged[position] ^= mask
                let problem = try checkProblem(damaged)
                #expect(problem != nil, "flip at \(position) not detected")
                if let name = owner(position) {
                    #expect(problem?.kind == .tensorChecksumMismatch(tensor: name), "flip at \(position) in '\(name)': \(String(describing: problem))")
                } else if position < headerEnd {
                    #expect(problem?.tensor == nil && problem?.description.hasPrefix("header") == true
                            || problem?.kind == .badMagic, "flip at \(position): \(String(describing: problem))")
                } else if case .nonZeroPadding = problem?.kind {
                } else {
                    Issue.record("flip at \(position) in padding reported as \(String(describing: problem))")
                }
                tested += 1
            }
        }
        #expect(tested > 2000)
        for length in Array(0..<headerEnd) + Array(stride(from: headerEnd, to: image.count, by: 37)) {
            let problem = openProblem(Array(image.prefix(length)))
            #expect(problem != nil, "truncation to \(length) bytes not detected")
            if length >= dataOffset, let name = owner(length) ?? owner(length - 1), length < dataEnd {
                #expect(problem?.tensor != nil, "truncation to \(length) inside '\(name)' names no tensor")
            }
        }
    }

    /// Recomputes the header checksum of an image after a hand edit.
    private func reseal(_ image: inout [UInt8]) {
        let headerLength = Int(image[16]) | Int(image[17]) << 8 | Int(image[18]) << 16
        let end = 40 + headerLength
        image.replaceSubrange(end..<(end + 32), with: RawWCV.sha(Array(image[0..<end])))
    }
}
