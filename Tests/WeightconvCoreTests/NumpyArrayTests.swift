import Testing
import TestSupport
@testable import WeightconvCore

@Suite struct NumpyArrayTests {
    @Test func readsVersionsOneTwoAndThree() throws {
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40] // 1.0, 2.0 as <f4
        for major: UInt8 in [1, 2, 3] {
            let array = try NumpyArray(bytes: npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data: data, version: major), file: "a.npy")
            #expect(array.shape == [2] && array.dtype == .f32)
            #expect(try array.floats(file: "a.npy") == [1, 2])
        }
    }

    @Test func readsBigEndianArraysIntoLittleEndianOrder() throws {
        let little: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40] // 1.0, 2.0 as <f4
        let big = Array(little[0..<4].reversed()) + Array(little[4..<8].reversed())
        let array = try NumpyArray(bytes: npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: big), file: "be.npy")
        #expect(array.dtype == .f32 && array.data == little)
        #expect(try array.floats(file: "be.npy") == [1, 2])
    }

    @Test func readsScalarsAndOtherDtypes() throws {
        let scalar = try NumpyArray(bytes: npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                                               data: [0, 0, 0, 0, 0, 0, 0xF0, 0x3F]), file: "s.npy")
        #expect(scalar.shape == [])
        #expect(try scalar.floats(file: "s.npy") == [1])
        let half = try NumpyArray(bytes: npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (1, 1), }", data: [0x00, 0x3C]), file: "h.npy")
        #expect(try half.floats(file: "h.npy") == [1])
        let bools = try NumpyArray(bytes: npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", data: [1, 0, 1]), file: "b.npy")
        #expect(bools.dtype == .bool && bools.data == [1, 0, 1])
        #expect(throws: (any Error).self) { _ = try bools.floats(file: "b.npy") }
    }

    @Test(arguments: [
        ("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", "Fortran"),
        ("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "unsupported dtype"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "needs 12 data bytes"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "trailing bytes"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }", "overflows"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "overflows"),
        ("{'descr': '<f4', 'fortran_order': False, }", "no 'shape'"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", "unexpected key"),
        ("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "duplicate"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", "expected"),
        ("__import__('os')", "expected"),
    ])
    func refusesWithOneLine(_ header: String, _ problem: String) {
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]
        #expect {
            _ = try NumpyArray(bytes: npyFile(header, data: data), file: "bad.npy")
        } throws: { error in
            let text = String(describing: error)
            return text.hasPrefix("bad.npy: ") && text.contains(problem) && !text.contains("\n")
        }
    }

    @Test func refusesTruncatedAndOversizedHeaders() {
        #expect(throws: WeightconvError.self) { _ = try NumpyArray(bytes: [0x93, 0x4E, 0x55], file: "t.npy") }
        #expect(throws: WeightconvError.self) {
            _ = try NumpyArray(bytes: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0xFF, 0xFF, 0xFF, 0x7F], file: "big.npy")
        }
        #expect(throws: WeightconvError.self) {
            _ = try NumpyArray(bytes: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0x40, 0], file: "short.npy")
        }
        #expect(throws: WeightconvError.self) {
            _ = try NumpyArray(bytes: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 4, 0, 0, 0], file: "v4.npy")
        }
    }
}
