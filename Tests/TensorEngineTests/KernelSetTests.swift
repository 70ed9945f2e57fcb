import Testing
import TensorEngine

@Suite struct KernelSetTests {
    /// `best` is the widest set the CPU runs, and `runnable` only ever narrows: a set asked for on a
    /// CPU without it gives the widest narrower one it has (the portable kernels at the least).
    @Test func bestIsTheWidestAvailableAndRunnableNeverWidens() throws {
        #expect(KernelSet.available.first == .portable)
        #expect(KernelSet.available.last == KernelSet.best)
        for set in KernelSet.allCases {
            #expect(KernelSet.available.contains(set.runnable), "\(set)")
            let asked = try #require(KernelSet.allCases.firstIndex(of: set))
            let given = try #require(KernelSet.allCases.firstIndex(of: set.runnable))
            #expect(given <= asked, "\(set) runs as \(set.runnable)")
            #expect(set.runnable.runnable == set.runnable)
        }
    }
}
