import Foundation
import Testing
import TorchCheckpoint
import WeightconvCore

/// The refusals of the `.npy` reader (`NumpyArray`, WeightconvCore), on whole `.npy` files and on the
/// entries of `.npz` archives (through `NumpyArchive`, which names the entry).
@Suite struct NumpyErrorPathTests {
    static let f4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"

    static let npyCases: [Case] = [
        Case("no magic", Array("NOTNUMPY!!".utf8), "missing the \\x93NUMPY magic"),
        Case("version 4", [0x93] + Array("NUMPY".utf8) + [4, 0, 0, 0], "unsupported format version 4.0"),
        Case("version 2 cut in the length", [0x93] + Array("NUMPY".utf8) + [2, 0, 1, 0], "truncated header length"),
        Case("header past the end", [0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0x00] + Array("{}".utf8), "runs past the end of the file"),
        Case("no descr", npyFile("{'fortran_order': False, 'shape': (2,), }"), "header has no 'descr'"),
        Case("complex dtype", npyFile("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }"), "unsupported dtype '<c8'"),
        Case("object dtype", npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"), "unsupported dtype '|O'"),
        Case("no fortran_order", npyFile("{'descr': '<f4', 'shape': (2,), }"), "header has no 'fortran_order'"),
        Case("Fortran order", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }"), "Fortran-ordered data"),
        Case("no shape", npyFile("{'descr': '<f4', 'fortran_order': False, }"), "header has no 'shape'"),
        Case("shape that overflows", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"), "overflows"),
        Case("dimension past Int.max", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"),
             "dimension overflows"),
        Case("data cut short", npyFile(f4, data: [0, 0, 0, 0]), "needs 8 data bytes, the file has 4"),
        Case("trailing data", npyFile(f4, data: Array(repeating: 0, count: 12)), "trailing bytes after the array"),
        Case("not a dict", npyFile("['descr']"), "expected '{'"),
        Case("unquoted key", npyFile("{descr: '<f4'}"), "expected a quoted string"),
        Case("escape in a string", npyFile("{'de\\scr': '<f4'}"), "escapes are not expected"),
        Case("unterminated string", npyFile("{'descr"), "unterminated string"),
        Case("negative dimension", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"), "expected a non-negative integer"),
        Case("65 dimensions", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (" + String(repeating: "1, ", count: 65) + "), }"),
             "more than 64 dimensions"),
        Case("unknown key", npyFile("{'descr': '<f4', 'evil': 1, }"), "unexpected key 'evil'"),
        Case("duplicate descr", npyFile("{'descr': '<f4', 'descr': '<f8', }"), "duplicate key 'descr'"),
        Case("fortran_order of 1", npyFile("{'descr': '<f4', 'fortran_order': 1, 'shape': (2,), }"), "fortran_order must be True or False"),
    ]

    @Test(arguments: npyCases)
    func npyRefusal(_ sample: Case) {
        #expect {
            _ = try NumpyArray(bytes: sample.bytes, file: "crafted.npy")
        } throws: { error in
            let message = "\(error)"
            return message.contains(sample.mentions) && message.contains("crafted.npy") && !message.contains("\n")
        }
    }

    @Test func aWellFormedArrayReads() throws {
        let array = try NumpyArray(bytes: npyFile(Self.f4, data: Op.le(Float(1.5).bitPattern) + Op.le(Float(-2).bitPattern)), file: "ok.npy")
        #expect(array.shape == [2])
        #expect(try array.floats(file: "ok.npy") == [1.5, -2])
    }

    // MARK: - npz

    static func npz(_ entries: [(String, [UInt8])]) -> [UInt8] {
        var zip = ZipBuilder()
        for (name, bytes) in entries { zip.add(name, bytes) }
        return zip.bytes()
    }

    static let npzCases: [Case] = [
        Case("an entry that is not .npy", npz([("a.npy", npyFile(f4, data: Array(repeating: 0, count: 8))), ("notes.txt", Array("hi".utf8))]),
             "entry 'notes.txt' is not a .npy array"),
        Case("no magic", npz([("a.npy", Array("NOTNUMPY!!".utf8))]), "entry 'a.npy' is not a readable .npy array: missing the \\x93NUMPY magic"),
        Case("version 4", npz([("a.npy", [0x93] + Array("NUMPY".utf8) + [4, 0, 0, 0])]), "entry 'a.npy' is not a readable .npy array: unsupported format version 4.0"),
        Case("version 2 cut in the length", npz([("a.npy", [0x93] + Array("NUMPY".utf8) + [2, 0, 1, 0])]), "entry 'a.npy' is not a readable .npy array: truncated header length"),
        Case("header past the end", npz([("a.npy", [0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0] + Array("{}".utf8))]),
             "entry 'a.npy' is not a readable .npy array: header of 255 bytes runs past the end"),
        Case("header that is not UTF-8", npz([("a.npy", [0x93] + Array("NUMPY".utf8) + [1, 0, 2, 0, 0xFF, 0xFE])]), "entry 'a.npy' is not a readable .npy array: header is not text"),
        Case("header that is not a dict", npz([("a.npy", npyFile("['descr']"))]), "entry 'a.npy' is not a readable .npy array: expected '{' at byte 10 (the header is not the dict literal NumPy writes)"),
        Case("Fortran order", npz([("a.npy", npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: Array(repeating: 0, count: 8)))]),
             "entry 'a.npy' is not a readable .npy array: Fortran-ordered data"),
        Case("object dtype", npz([("a.npy", npyFile("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }"))]),
             "entry 'a.npy' is not a readable .npy array: unsupported dtype '|O' at byte 10 (object arrays hold pickles and are refused)"),
        Case("shape that overflows", npz([("a.npy", npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999999999, 999999999999999999), }"))]),
             "overflows"),
        Case("data cut short", npz([("a.npy", npyFile(f4, data: [0, 0, 0, 0]))]), "entry 'a.npy' is not a readable .npy array: shape [2] of <f4 needs 8 data bytes, the file has 4"),
        // Found by FuzzNpz (fixtures/fuzz/FuzzNpz/crash-bcc36437…): the second 'a.npy' replaced the first
        // one's bytes but not its listing, so 'a' was listed as 24 bytes and handed out as 16.
        Case("a name that appears twice", npz([("a.npy", npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                                             data: Array(repeating: 1, count: 24))),
                                               ("a.npy", npyFile(f4, data: Array(repeating: 2, count: 8)))]),
             "entry 'a.npy' appears twice"),
    ]

    @Test(arguments: npzCases)
    func npzRefusal(_ sample: Case) throws {
        try expectOneLineRefusal(sample, writtenAs: "crafted.npz") { _ = try NumpyArchive(path: $0) }
    }

    @Test func aWellFormedArchiveReads() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let data = Op.le(Float(1.5).bitPattern) + Op.le(Float(-2).bitPattern)
        let archive = try NumpyArchive(path: try folder.write(Self.npz([("a.npy", npyFile(Self.f4, data: data))]), "ok.npz"))
        #expect(try archive.floats(of: "a") == [1.5, -2])
    }
}
