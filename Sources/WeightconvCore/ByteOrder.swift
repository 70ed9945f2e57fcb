/// Reverses the bytes of every `elementSize`-byte element of `buffer` in place: big-endian data
/// (legacy checkpoints written on big-endian machines, `>` `.npy` arrays) to the little-endian
/// order every reader hands out. A trailing partial element is left alone.
package func swapByteOrder(_ buffer: UnsafeMutableRawBufferPointer, elementSize: Int) {
    var i = 0
    while i + elementSize <= buffer.count {
        var lo = i, hi = i + elementSize - 1
        while lo < hi { buffer.swapAt(lo, hi); lo += 1; hi -= 1 }
        i += elementSize
    }
}
