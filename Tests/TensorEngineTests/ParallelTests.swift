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
    /// The scratch a layer is given holds its widest tile: an unfolded 3×3 layer of 64 outputs whose
    /// 6,130 columns fall just under two budgets of 3,072 has a last tile of 3,074 columns (its start
    /// moved down to a multiple of 16), which scratch sized for the budget alone overran.
    @Test func scratchHoldsTheWidestTile() throws {
        let layer = try ConvolutionLayer(weight: Tensor(shape: [64, 8, 3, 3], storage: [Float](repeating: 0.01, count: 64 * 8 * 9)),
                                         bias: nil, parameters: Conv2dParameters())
        let prepared = PreparedConvolution(layer, batchNorm: nil, activation: .identity)
        let (input, output) = ([1, 8, 3, 6132], [1, 64, 1, 6130])
        for workers in 1...4 {
            let split = PreparedConvolution.split(rows: 64, columns: 6130, workers: workers, unfolds: true)
            let starts = (0...split.tiles).map { PreparedConvolution.tileStart($0, of: split.tiles, columns: 6130) }
            let widest = (0..<split.tiles).map { starts[$0 + 1] - starts[$0] }.max() ?? 0
            #expect(prepared.scratchFloats(input: input, output: output) >= 8 * 9 * widest, "\(workers) workers: tiles up to \(widest)")
        }
    }

    @Test(arguments: [(20, 784), (80, 196), (240, 49), (1024, 49), (1024, 196), (256, 3136), (24, 3136), (32, 12544), (16, 7), (3, 2), (728, 361), (256, 1023),
                      (64, 6130), (64, 6144)]) // just under two budgets: the last tile is the widest
    func gemmSplitsIntoRowBlocksOrWideBands(rows: Int, columns: Int) {
        for workers in 1...4 {
            for unfolds in [false, true] {
                let split = PreparedConvolution.split(rows: rows, columns: columns, workers: workers, unfolds: unfolds)
                let widest = PreparedConvolution.tileColumns(rows: rows, columns: columns)
                let starts = (0...split.tiles).map { PreparedConvolution.tileStart($0, of: split.tiles, columns: columns) }
                let widths = (0..<split.tiles).map { starts[$0 + 1] - starts[$0] }
                // A tile may pass the budget by the up to 15 columns its start moved down by, which
                // the scratch a tile is unfolded into is sized for.
                let scratch = PreparedConvolution.widestTile(rows: rows, columns: columns)
                #expect(starts.first == 0 && starts.last == columns && widths.allSatisfy { $0 >= 1 && $0 <= scratch }
                            && scratch <= widest + 15, "\(rows)×\(columns) on \(workers): tiles \(widths)")
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
                // With images × groups enough to fall evenly, whole items where columns are not cut.
                for items in [workers, 2 * workers, 4 * workers + 1] {
                    let batched = PreparedConvolution.split(rows: rows, columns: columns, workers: workers, unfolds: unfolds, items: items)
                    if batched.cut != .columns {
                        #expect(batched.cut == .items && batched.rowPieces == 1, "\(rows)×\(columns) × \(items) items on \(workers): \(batched)")
                    } else {
                        #expect(batched == split, "\(rows)×\(columns) × \(items) items on \(workers): bands as for one")
                    }
                }
                // Too few (fewer than the shares, or an uneven few): as for one item.
                let few = PreparedConvolution.split(rows: rows, columns: columns, workers: workers, unfolds: unfolds, items: workers - 1)
                #expect(few == split, "\(rows)×\(columns) × \(workers - 1) items on \(workers)")
            }
        }
    }
}
