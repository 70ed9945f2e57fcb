import Testing
@testable import TensorEngine

/// The engine's one GEMM against a plain triple loop in double precision, on the widths where
/// ``multiplyMatrices`` splits its work (16j + 1 columns go to oneDNN as 16j columns and one) and
/// their neighbours, with B plain and transposed, `beta` 0 and 1, and row strides wider than the
/// matrices (as the convolutions pass them), so a column written to the wrong place, skipped or
/// counted twice is caught.
struct MatrixMultiplyTests {
    @Test(arguments: [1, 2, 16, 17, 33, 48, 49, 50, 196, 257])
    func matchesTripleLoop(n: Int) throws {
        let (m, k) = (37, 70)
        let (lda, ldc) = (k + 3, n + 5)
        let a = (0..<m * lda).map { Float(($0 * 37) % 29) / 29 - 0.5 }
        for transposeB in [false, true] {
            let ldb = (transposeB ? k : n) + 2
            let b = (0..<(transposeB ? n : k) * ldb).map { Float(($0 * 53) % 31) / 31 - 0.5 }
            for beta in [Float(0), 1] {
                let start = (0..<m * ldc).map { Float($0 % 11) * 0.25 - 1 }
                var c = start
                c.withUnsafeMutableBufferPointer { cBuffer in
                    a.withUnsafeBufferPointer { aBuffer in
                        b.withUnsafeBufferPointer { bBuffer in
                            multiplyMatrices(m: m, n: n, k: k, a: aBuffer.baseAddress!, lda: lda, b: bBuffer.baseAddress!,
                                             ldb: ldb, transposeB: transposeB, beta: beta, c: cBuffer.baseAddress!, ldc: ldc)
                        }
                    }
                }
                var worst: Double = 0, firstWrong: (Int, Int)?
                for i in 0..<m {
                    for j in 0..<ldc {
                        var expected = Double(start[i * ldc + j])
                        if j < n {
                            expected *= Double(beta)
                            for p in 0..<k {
                                expected += Double(a[i * lda + p]) * Double(transposeB ? b[j * ldb + p] : b[p * ldb + j])
                            }
                        }
                        // Past column n the stride's padding must be left as it was.
                        let difference = abs(Double(c[i * ldc + j]) - expected)
                        worst = max(worst, difference)
                        if firstWrong == nil, difference > 1e-4 { firstWrong = (i, j) }
                    }
                }
                #expect(firstWrong == nil,
                        "m \(m) n \(n) k \(k), transposeB \(transposeB), beta \(beta): max |diff| \(worst), first wrong (row, column) \(String(describing: firstWrong))")
            }
        }
    }
}
