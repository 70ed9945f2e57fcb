import WeightconvCore

/// A tensor found in a checkpoint under its dotted name.
struct NamedTensor {
    var name: String
    var tensor: TensorReference
}

/// What a pickle's result becomes: tensors named by their dotted path through dicts, lists and
/// module objects, and everything else kept as metadata.
struct CheckpointContents {
    var tensors: [NamedTensor]
    var metadata: MetadataValue
    /// The class of a whole pickled model (`torch.save(model)`), when the root is one.
    var modelClass: String?

    /// Walks the result. Recursion is bounded by `limits.maxNestingDepth` (cycles and million-level
    /// nesting end in an error, not a stack overflow) and the number of visits by
    /// `limits.maxVisitedValues` (shared references are counted each time they are reached).
    static func flatten(_ root: PickleValue, limits: PickleLimits, file: String) throws(WeightconvError) -> CheckpointContents {
        var walker = Walker(limits: limits, file: file)
        // Size the walk before doing it: shared references can make a small pickle expand to
        // 10^30 values, which must be refused without being built.
        var sizer = Sizer(limits: limits, file: file)
        _ = try sizer.size(root, depth: 0)
        let metadata = try walker.visit(root, path: [], depth: 0) ?? .object([])
        var modelClass: String?
        if case .node(let node) = root, case .object(let type) = node.kind, Walker.isModule(node) { modelClass = type.description }
        return CheckpointContents(tensors: walker.tensors, metadata: metadata, modelClass: modelClass)
    }

    /// How many values a full walk would visit, computed once per node (so shared references cost
    /// nothing here), saturating, and bounded in depth like the walk itself.
    private struct Sizer {
        let limits: PickleLimits
        let file: String
        var sizes: [ObjectIdentifier: Int] = [:]

        /// Also refuses a hostile global anywhere in the content. Here, not in the walk: each node is
        /// sized once, while the walk reaches a shared global as often as it is referenced (a
        /// million times in a FuzzLegacy input, each a string hash of its name).
        mutating func size(_ value: PickleValue, depth: Int) throws(WeightconvError) -> Int {
            if case .global(let global) = value, PickleCallables.isHostile(global) {
                throw WeightconvError(file: file, problem: "refused global \(global) in the checkpoint's content",
                                      hint: "the file is hostile or not a checkpoint")
            }
            guard case .node(let node) = value else { return 1 }
            if let known = sizes[ObjectIdentifier(node)] { return known }
            guard depth <= limits.maxNestingDepth else {
                throw WeightconvError(file: file, problem: "the pickle nests deeper than \(limits.maxNestingDepth) levels (maxNestingDepth limit)",
                                      hint: "no checkpoint nests this deep, so the file is likely hostile or self-referencing; " + PickleLimits.raising("maxNestingDepth"))
            }
            var total = 1
            func add(_ n: Int) { total = n > limits.maxVisitedValues || total > limits.maxVisitedValues ? limits.maxVisitedValues + 1 : total + n }
            for item in node.items { add(try size(item, depth: depth + 1)) }
            for (key, item) in node.entries {
                add(try size(key, depth: depth + 1))
                add(try size(item, depth: depth + 1))
            }
            if let state = node.state { add(try size(state, depth: depth + 1)) }
            guard total <= limits.maxVisitedValues else {
                throw WeightconvError(file: file, problem: "the pickle reaches more than \(limits.maxVisitedValues) values (maxVisitedValues limit)",
                                      hint: "shared references multiply the content, so the file is likely hostile; " + PickleLimits.raising("maxVisitedValues"))
            }
            sizes[ObjectIdentifier(node)] = total
            return total
        }
    }

    private struct Walker {
        let limits: PickleLimits
        let file: String
        var tensors: [NamedTensor] = []
        var names: Set<String> = []
        var visits = 0
        /// Approximate bytes of JSON the metadata kept so far would print as.
        var metadataBytes = 0

        init(limits: PickleLimits, file: String) {
            self.limits = limits
            self.file = file
        }

        static func isModule(_ node: PickleNode) -> Bool {
            guard case .node(let state)? = node.state, case .dict = state.kind else { return false }
            return state.value(forKey: "_parameters") != nil && state.value(forKey: "_modules") != nil
        }

        mutating func addTensor(_ tensor: TensorReference, path: [String]) throws(WeightconvError) {
            let name = path.isEmpty ? "tensor" : path.joined(separator: ".")
            guard names.insert(name).inserted else {
                throw WeightconvError(file: file, problem: "two tensors are both named '\(name)'",
                                      hint: "the checkpoint nests keys that collide once joined with dots")
            }
            tensors.append(NamedTensor(name: name, tensor: tensor))
        }

        /// Returns the metadata for `value`, or `nil` when it held tensors and nothing else.
        mutating func visit(_ value: PickleValue, path: [String], depth: Int) throws(WeightconvError) -> MetadataValue? {
            visits += 1
            guard visits <= limits.maxVisitedValues else {
                throw WeightconvError(file: file, problem: "the pickle reaches more than \(limits.maxVisitedValues) values (maxVisitedValues limit)",
                                      hint: "shared references multiply the content, so the file is likely hostile; " + PickleLimits.raising("maxVisitedValues"))
            }
            guard depth <= limits.maxNestingDepth else {
                throw WeightconvError(file: file, problem: "the pickle nests deeper than \(limits.maxNestingDepth) levels (maxNestingDepth limit)",
                                      hint: "no checkpoint nests this deep, so the file is likely hostile or self-referencing; " + PickleLimits.raising("maxNestingDepth"))
            }
            switch value {
            case .none: return keep(.null, bytes: 5)
            case .bool(let b): return keep(.bool(b), bytes: 6)
            case .int(let i): return keep(.int(i), bytes: 21)
            case .bigInt(let digits): return keep(.opaque(typeName: "int", summary: digits), bytes: 40 + digits.utf8.count)
            case .float(let d): return keep(.double(d), bytes: 25)
            case .string(let s): return keep(.string(s), bytes: 3 + s.utf8.count)
            case .bytes(let b): return keep(.opaque(typeName: "bytes", summary: "\(b.count) bytes"), bytes: 60)
            case .opaque(let type, let summary): return keep(.opaque(typeName: type, summary: summary), bytes: 40 + type.utf8.count + summary.utf8.count)
            case .storage(let storage): return keep(.opaque(typeName: "torch.storage", summary: storage.key), bytes: 60 + storage.key.utf8.count)
            case .tensor(let tensor):
                try addTensor(tensor, path: path)
                return nil
            case .global(let global):
                // Hostile globals were refused when the content was sized.
                let type = TorchNames.dtype(global) != nil ? "torch.dtype" : "global"
                let summary = global.description
                return keep(.opaque(typeName: type, summary: summary), bytes: 50 + summary.utf8.count)
            case .node(let node):
                return try visit(node, path: path, depth: depth)
            }
        }

        private mutating func visit(_ node: PickleNode, path: [String], depth: Int) throws(WeightconvError) -> MetadataValue? {
            // Containers cost their brackets: a million shared empty lists are a million `[]`.
            let overBefore = metadataBytes > limits.maxMetadataBytes
            metadataBytes += 3
            guard let result = try visitContent(node, path: path, depth: depth) else { return nil }
            return overBefore ? Self.leftOut : result
        }

        private mutating func visitContent(_ node: PickleNode, path: [String], depth: Int) throws(WeightconvError) -> MetadataValue? {
            switch node.kind {
            case .dict:
                return try visitEntries(node.entries, path: path, depth: depth)
            case .tuple, .list, .set:
                var items: [MetadataValue] = []
                var sawTensorOnly = !node.items.isEmpty
                for (index, item) in node.items.enumerated() {
                    if let meta = try visit(item, path: path + [String(index)], depth: depth + 1) {
                        if !Self.isLeftOut(meta) { items.append(meta) }
                        sawTensorOnly = false
                    } else {
                        // Keep positions: a tensor's slot says where it went.
                        let name = (path + [String(index)]).joined(separator: ".")
                        let slot = keep(.opaque(typeName: "tensor", summary: name), bytes: 40 + name.utf8.count)
                        if !Self.isLeftOut(slot) { items.append(slot) }
                    }
                }
                return sawTensorOnly ? nil : .array(items)
            case .object(let type):
                if Self.isModule(node) {
                    try visitModule(node, path: path, depth: depth)
                    return keep(.opaque(typeName: type.description, summary: "torch.nn.Module"), bytes: 60 + type.description.utf8.count)
                }
                return try visitObject(node, type: type, path: path, depth: depth)
            }
        }

        private mutating func visitEntries(_ entries: [(key: PickleValue, value: PickleValue)], path: [String], depth: Int) throws(WeightconvError) -> MetadataValue? {
            var kept: [(key: String, value: MetadataValue)] = []
            for (key, value) in entries {
                let name = Self.keyName(key)
                if let meta = try visit(value, path: path + [name], depth: depth + 1), !Self.isLeftOut(meta) {
                    metadataBytes += 4 + name.utf8.count
                    kept.append((name, meta))
                }
            }
            return kept.isEmpty && !entries.isEmpty ? nil : .object(kept)
        }

        /// A whole pickled `nn.Module`: the state_dict is its `_parameters`, its persistent
        /// `_buffers`, then each of its `_modules`, in that order (as `Module.state_dict` walks it).
        private mutating func visitModule(_ module: PickleNode, path: [String], depth: Int) throws(WeightconvError) {
            guard depth <= limits.maxNestingDepth else {
                throw WeightconvError(file: file, problem: "modules nest deeper than \(limits.maxNestingDepth) levels (maxNestingDepth limit)",
                                      hint: PickleLimits.raising("maxNestingDepth"))
            }
            guard case .node(let state)? = module.state else { return }
            func dict(_ key: String) -> PickleNode? {
                if case .node(let node)? = state.value(forKey: key), case .dict = node.kind { return node }
                return nil
            }
            var nonPersistent: Set<String> = []
            if case .node(let set)? = state.value(forKey: "_non_persistent_buffers_set") {
                for case .string(let name) in set.items { nonPersistent.insert(name) }
            }
            for group in ["_parameters", "_buffers"] {
                for (key, value) in dict(group)?.entries ?? [] {
                    let name = Self.keyName(key)
                    if group == "_buffers" && nonPersistent.contains(name) { continue }
                    switch value {
                    case .tensor(let tensor): try addTensor(tensor, path: path + [name])
                    case .none: continue
                    default:
                        throw WeightconvError(file: file, problem: "module entry '\((path + [name]).joined(separator: "."))' in \(group) is \(value.kindName), not a tensor")
                    }
                }
            }
            for (key, value) in dict("_modules")?.entries ?? [] {
                guard case .node(let child) = value, Self.isModule(child) else { continue }
                visits += 1
                guard visits <= limits.maxVisitedValues else {
                    throw WeightconvError(file: file, problem: "the pickle reaches more than \(limits.maxVisitedValues) values (maxVisitedValues limit)",
                                          hint: PickleLimits.raising("maxVisitedValues"))
                }
                try visitModule(child, path: path + [Self.keyName(key)], depth: depth + 1)
            }
        }

        /// An inert object (argparse.Namespace, an unknown class): its attributes may hold tensors
        /// (named by attribute); the rest is summarised as an opaque value.
        private mutating func visitObject(_ node: PickleNode, type: GlobalName, path: [String], depth: Int) throws(WeightconvError) -> MetadataValue? {
            if type.description == "numpy.ndarray" {
                let summary = Self.ndarraySummary(node)
                return keep(.opaque(typeName: "numpy.ndarray", summary: summary), bytes: 60 + summary.utf8.count)
            }
            if type.description == "numpy.dtype" {
                var descr = "?"
                if case .string(let text)? = node.items.first { descr = text }
                return keep(.opaque(typeName: "numpy.dtype", summary: descr), bytes: 60 + descr.utf8.count)
            }
            var parts: [String] = []
            if case .node(let state)? = node.state, case .dict = state.kind {
                for (key, value) in state.entries {
                    let name = Self.keyName(key)
                    if let meta = try visit(value, path: path + [name], depth: depth + 1), !Self.isLeftOut(meta) {
                        parts.append("\(name)=\(Self.brief(meta))")
                    }
                }
            }
            let summary = PickleCallables.bounded(parts.joined(separator: ", "), 2000)
            return keep(.opaque(typeName: type.description, summary: summary), bytes: 40 + type.description.utf8.count + summary.utf8.count)
        }

        /// What a value past the metadata budget becomes: containers drop it. Computed, not a
        /// stored static: LeakSanitizer does not see the tagged pointer a static enum payload is
        /// kept as, and reported it as a leak at exit (FuzzTorchZip).
        static var leftOut: MetadataValue { .opaque(typeName: "", summary: "") }

        static func isLeftOut(_ value: MetadataValue) -> Bool {
            if case .opaque(let type, _) = value { return type.isEmpty }
            return false
        }

        /// `value`, while the metadata stays within `limits.maxMetadataBytes` of JSON. The first
        /// value past it becomes a marker naming the limit; later ones are left out (the walk goes
        /// on, for the tensors).
        mutating func keep(_ value: MetadataValue, bytes: Int) -> MetadataValue {
            guard metadataBytes <= limits.maxMetadataBytes else { return Self.leftOut }
            // Each cost is bounded by the pickle's size, itself bounded by maxPickleBytes.
            metadataBytes += bytes
            if metadataBytes <= limits.maxMetadataBytes { return value }
            return .opaque(typeName: "weightconv.omitted",
                           summary: "the rest of the metadata: it passes \(limits.maxMetadataBytes) bytes of JSON (maxMetadataBytes limit); "
                               + PickleLimits.raising("maxMetadataBytes"))
        }

        static func keyName(_ key: PickleValue) -> String {
            switch key {
            case .string(let s): s
            case .int(let i): String(i)
            case .bool(let b): b ? "True" : "False"
            default: PickleCallables.shortSummary(key)
            }
        }

        static func brief(_ value: MetadataValue) -> String {
            let text: String
            switch value {
            case .string(let s): text = "'\(s)'"
            case .opaque(let type, let summary): text = "\(type)(\(summary))"
            default: text = value.jsonText
            }
            return PickleCallables.bounded(text, 200)
        }

        static func ndarraySummary(_ node: PickleNode) -> String {
            // BUILD state: (version, shape, dtype, is_fortran, raw data)
            guard case .node(let state)? = node.state, state.items.count >= 3, case .node(let shape) = state.items[1] else { return "?" }
            let dims = shape.items.map { if case .int(let i) = $0 { String(i) } else { "?" } }
            var dtype = "?"
            if case .node(let d) = state.items[2], case .string(let descr)? = d.items.first { dtype = descr }
            return "shape (\(dims.joined(separator: ", "))) dtype \(dtype)"
        }
    }
}
