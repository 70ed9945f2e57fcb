import Foundation
import Synchronization
import Testing
@testable import TensorEngine

/// The worker pool and how a GEMM convolution is cut between its shares.
@Suite struct ParallelTests {
    /// Every share of every region runs exactly once, also when several pools compete for the two
    /// cores (as executors do when tests run side by side) and callers must do shares themselves.
    @Test(arguments: [1, 2, 3, 8])
    func everyShareRunsOnce(threads: Int) async {
        let regions = 2_000
        await withTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let workers = Workers(threads)
                    let counts = Mutex([Int](repeating: 0, count: threads))
                    for _ in 0..<regions {
                        workers.run { share in counts.withLock { $0[share] += 1 } }
                    }
                    return counts.withLock { $0 }
                }
            }
            for await counts in group {
                #expect(counts == [Int](repeating: regions, count: threads))
            }
        }
    }

    @Test func aPoolHasAtMostThirtyTwoThreads() {
        #expect(Workers(1000).count == 32)
        #expect(Workers(0).count == 1)
    }

    /// Column tiles cover the output exactly, start on a multiple of 16 columns when they are wide,
    /// and are never wider than the cache budget (plus that alignment); with more
    /// than one share, each share gets one band of columns (≥ 1024 wide, so its runs of memory are
    /// at least a page) or one contiguous block of rows (≥ 4), or the split is left to whole items.
    @Test(arguments: [(20, 784), (80, 196), (240, 49), (1024, 49), (1024, 196), (256, 3136), (24, 3136), (32, 12544), (16, 7), (3, 2), (728, 361), (256, 1023)])
    func gemmSplitsIntoRowBlocksOrWideBands(rows: Int, columns: Int) {
        for workers in 1...4 {
            for unfolds in [false, true] {
                let split = PreparedConvolution.split(rows: rows, columns: columns, workers: workers, unfolds: unfolds)
                let widest = PreparedConvolution.tileColumns(rows: rows, columns: columns)
                let starts = (0...split.tiles).map { PreparedConvolution.tileStart($0, of: split.tiles, columns: columns) }
                let widths = (0..<split.tiles).map { starts[$0 + 1] - starts[$0] }
                // A tile may pass the budget by the up to 15 columns its start moved down by.
                #expect(starts.first == 0 && starts.last == columns && widths.allSatisfy { $0 >= 1 && $0 <= widest + 15 },
                        "\(rows)×\(columns) on \(workers): tiles \(widths)")
                if columns / split.tiles >= 64 {
                    #expect(starts.dropLast().allSatisfy { $0 % 16 == 0 }, "\(rows)×\(columns) on \(workers): starts \(starts)")
                }
                guard workers > 1 else { continue }
                let blocked = split.cut == .rows && split.rowPieces == workers && rows / workers >= 4
                let banded = split.cut == .columns && split.rowPieces == 1 && split.tiles % workers == 0 && columns / workers >= 1024
                let whole = split.cut == .items && split.rowPieces == 1 && rows / workers < 4 && columns / workers < 1024
                #expect(blocked || banded || whole, "\(rows)×\(columns) on \(workers): \(split)")
                if unfolds && columns / workers >= 1024 { #expect(banded, "an im2col layer cuts its columns") }
                if columns / workers >= 1024 && columns >= rows { #expect(banded, "the input is the larger operand") }
            }
        }
    }
}
