/// How two equally long byte arrays differ (decoded or resized pixels against Pillow's, say):
/// how many bytes, the largest difference, and the first index that differs.
public struct ByteDifference: Sendable {
    public var count = 0
    public var largest = 0
    public var first: Int?

    public init(_ got: [UInt8], _ reference: [UInt8]) {
        for index in 0..<min(got.count, reference.count) where got[index] != reference[index] {
            count += 1
            largest = max(largest, abs(Int(got[index]) - Int(reference[index])))
            if first == nil { first = index }
        }
    }
}
