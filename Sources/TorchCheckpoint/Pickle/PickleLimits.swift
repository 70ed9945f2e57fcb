/// Bounds on what one pickle may make the machine hold. Each is checked before the memory it
/// guards is allocated, and an error names the limit that was hit.
package struct PickleLimits: Sendable, Equatable {
    /// Largest pickle stream read (a checkpoint's `data.pkl` is usually kilobytes to a few megabytes).
    package var maxPickleBytes: Int
    package var maxMemoEntries: Int
    package var maxStackDepth: Int
    /// Open MARKs at once.
    package var maxMarkDepth: Int
    /// Members of one list, tuple, set or dict.
    package var maxContainerItems: Int
    /// Lists, tuples, dicts, sets and objects made by one file (each costs memory whether or not it
    /// is reachable from the result).
    package var maxContainers: Int
    /// Bytes of one LONG1/LONG4 integer.
    package var maxIntegerBytes: Int
    /// How deep the result may nest when it is turned into names and metadata.
    package var maxNestingDepth: Int
    /// Values visited while turning the result into names and metadata (shared references count
    /// each time they are reached, which bounds "billion laughs" pickles). Each becomes metadata,
    /// so this bounds what a tiny file can cost: at 10,000,000 a 116-byte file took 10 s and 500 MB.
    package var maxVisitedValues: Int
    /// Approximate bytes of JSON the non-tensor content may become. Shared references let a small
    /// file repeat a long string a million times (found by FuzzLegacy: 585 bytes became 120 MB of
    /// `inspect --json`); what lies past the budget is left out of the metadata, with a marker
    /// saying so, and the tensors are still read.
    package var maxMetadataBytes: Int

    package init(maxPickleBytes: Int = 256 << 20, maxMemoEntries: Int = 1 << 22, maxStackDepth: Int = 1 << 20,
                maxMarkDepth: Int = 1 << 16, maxContainerItems: Int = 1 << 26, maxContainers: Int = 2_000_000,
                maxIntegerBytes: Int = 4096,
                maxNestingDepth: Int = 200, maxVisitedValues: Int = 1_000_000, maxMetadataBytes: Int = 4 << 20) {
        self.maxPickleBytes = maxPickleBytes
        self.maxMemoEntries = maxMemoEntries
        self.maxStackDepth = maxStackDepth
        self.maxMarkDepth = maxMarkDepth
        self.maxContainerItems = maxContainerItems
        self.maxContainers = maxContainers
        self.maxIntegerBytes = maxIntegerBytes
        self.maxNestingDepth = maxNestingDepth
        self.maxVisitedValues = maxVisitedValues
        self.maxMetadataBytes = maxMetadataBytes
    }

    package static let standard = PickleLimits()

    /// The hint of a limit refusal: which field raises it. Legitimate only for a file the user trusts.
    static func raising(_ field: String) -> String {
        "if you trust the file, raise PickleLimits.\(field) (Checkpoint.open(path:limits:))"
    }
}

/// A failure inside the pickle machine, with the byte offset of the opcode that caused it.
/// Converted to a one-line `WeightconvError` at the checkpoint boundary.
package struct PickleError: Error, Sendable, Equatable {
    package var offset: Int
    package var problem: String
    package var hint: String?

    package init(offset: Int, _ problem: String, hint: String? = nil) {
        self.offset = offset
        self.problem = problem
        self.hint = hint
    }
}
