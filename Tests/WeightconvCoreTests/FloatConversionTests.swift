import Testing
@testable import WeightconvCore

@Suite struct FloatConversionTests {
    // Bit patterns from torch: torch.tensor([...]).half().view(torch.int16) and .bfloat16().view(torch.int16)
    //   values = [0.0, -0.0, 1.0, -2.5, 65504.0, 6.1035156e-05, 5.9604645e-08, 0.1, 1e5, 3.14159]
    //   half   = [0, -32768, 15360, -16128, 31743, 1024, 1, 11878, 31744, 16968]
    //   bf16   = [0, -32768, 16256, -16352, 18304, 14464, 13184, 15821, 18371, 16457]
    let values: [Float] = [0.0, -0.0, 1.0, -2.5, 65504.0, 6.1035156e-05, 5.9604645e-08, 0.1, 1e5, 3.14159]
    let half: [Int16] = [0, -32768, 15360, -16128, 31743, 1024, 1, 11878, 31744, 16968]
    let bf16: [Int16] = [0, -32768, 16256, -16352, 18304, 14464, 13184, 15821, 18371, 16457]

    @Test func narrowingMatchesTorch() {
        for (i, v) in values.enumerated() {
            #expect(FloatConversion.floatToHalf(v) == UInt16(bitPattern: half[i]), "half of \(v)")
            #expect(FloatConversion.floatToBFloat16(v) == UInt16(bitPattern: bf16[i]), "bf16 of \(v)")
        }
    }

    @Test func halfRoundTripIsExactForEveryFiniteHalf() {
        for bits in UInt16.min...UInt16.max {
            let f = FloatConversion.halfToFloat(bits)
            if f.isNaN { continue }
            #expect(FloatConversion.floatToHalf(f) == bits)
        }
    }

    @Test func checkedProductRefusesOverflowAndNegatives() {
        #expect(CheckedMath.product([2, 3, 4]) == 24)
        #expect(CheckedMath.product([Int.max, 2]) == nil)
        #expect(CheckedMath.product([4, -1]) == nil)
        #expect(CheckedMath.product([]) == 1)
        #expect(CheckedMath.alignUp(65, to: 64) == 128)
        #expect(CheckedMath.alignUp(Int.max, to: 64) == nil)
    }
}
