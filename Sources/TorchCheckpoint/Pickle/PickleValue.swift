import WeightconvCore

/// A `module.name` reference as GLOBAL / STACK_GLOBAL spell it. Nothing is ever imported or called
/// because of one; what may happen with it is decided by `PickleCallables`.
package struct GlobalName: Sendable, Hashable, CustomStringConvertible {
    package var module: String
    package var name: String

    package init(_ module: String, _ name: String) {
        // Python 2 spellings that protocol 0-2 pickles carry; Python 3 maps them the same way.
        switch module {
        case "__builtin__", "exceptions": self.module = "builtins"
        case "copy_reg": self.module = "copyreg"
        default: self.module = module
        }
        self.name = name
    }

    package var description: String { "\(module).\(name)" }
}

/// A value on the pickle machine's stack. Compound values are reference types so that mutation
/// through the memo (APPEND to a memoized list) is seen everywhere, as in Python. Large payloads
/// are boxed (`indirect`) so every stack slot, memo entry and container member stays small.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit in 64 bits, in decimal.
    case bigInt(String)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    indirect case global(GlobalName)
    case node(PickleNode)
    /// A storage handed out by `persistent_load`.
    indirect case storage(StorageReference)
    /// A tensor rebuilt by an allowlisted torch function (never by running torch).
    indirect case tensor(TensorReference)
    /// A harmless value kept by type name without being interpreted (torch.device, numpy scalars).
    indirect case opaque(typeName: String, summary: String)

    var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .global(let g): "global \(g)"
        case .node(let n): n.kind.name
        case .storage: "storage"
        case .tensor: "tensor"
        case .opaque(let type, _): type
        }
    }
}

/// A compound value. Every node is registered with the machine's arena, which empties them all at the
/// end: releasing a million-deep chain of nodes then never recurses.
final class PickleNode {
    enum Kind {
        case tuple
        case list
        case dict
        case set
        /// An inert instance of a class that was never called (NEWOBJ, copyreg._reconstructor).
        indirect case object(GlobalName)

        var name: String {
            switch self {
            case .tuple: "tuple"
            case .list: "list"
            case .dict: "dict"
            case .set: "set"
            case .object(let type): "\(type) object"
            }
        }
    }

    let kind: Kind
    /// Tuple, list and set members; an object's constructor arguments.
    var items: [PickleValue]
    /// Dict entries in insertion order (a repeated key replaces the value in place, as Python does).
    var entries: [(key: PickleValue, value: PickleValue)] = []
    private var entryIndex: [DictKey: Int] = [:]
    /// What BUILD gave an object (its `__dict__` or `__setstate__` argument); a dict's attributes.
    var state: PickleValue?

    init(kind: Kind, items: [PickleValue] = []) {
        self.kind = kind
        self.items = items
    }

    var isObject: Bool { if case .object = kind { true } else { false } }

    func setItem(_ key: PickleValue, _ value: PickleValue) {
        if let hashable = DictKey(key) {
            if let existing = entryIndex[hashable] {
                entries[existing].value = value
                return
            }
            entryIndex[hashable] = entries.count
        }
        entries.append((key, value))
    }

    func value(forKey key: String) -> PickleValue? {
        entryIndex[.string(key)].map { entries[$0].value }
    }

    /// Drops every reference this node holds (see the class comment).
    func release() {
        items = []
        entries = []
        entryIndex = [:]
        state = nil
    }
}

/// The dict keys that are compared by value (the ones state_dicts and checkpoints use).
enum DictKey: Hashable {
    case string(String)
    case int(Int)
    case bytes([UInt8])

    init?(_ value: PickleValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)
        case .bytes(let b): self = .bytes(b)
        default: return nil
        }
    }
}
