import WeightconvCore

/// What REDUCE, NEWOBJ, INST, OBJ and BUILD may do. Nothing is ever called: the allowlisted
/// callables are re-implemented as data operations (build a dict, describe a tensor view), classes
/// used only to make an instance (NEWOBJ, `copyreg._reconstructor`) become inert placeholder objects,
/// and every other call is refused with an error that names the global.
struct PickleCallables {
    /// Module roots whose classes are refused even as inert placeholders: nothing in a checkpoint
    /// needs them and their presence means the file was built to attack a loader.
    static let hostileModules: Set<String> = [
        "os", "posix", "nt", "subprocess", "sys", "socket", "shutil", "importlib", "runpy", "pty", "webbrowser",
        "code", "codeop", "pickle", "_pickle", "marshal", "types", "ctypes", "_ctypes", "ftplib", "http", "urllib",
        "urllib2", "requests", "asyncio", "multiprocessing", "threading", "_thread", "functools", "operator", "io",
        "_io", "logging", "tempfile", "glob", "pip", "setuptools", "distutils", "commands", "timeit", "pdb", "bdb",
        "cProfile", "profile", "trace", "signal", "smtplib", "imaplib", "telnetlib", "xmlrpc", "aiohttp", "httplib",
        "_posixsubprocess", "pkgutil", "zipimport", "site", "venv", "ensurepip", "idlelib", "lib2to3", "pydoc",
        "_osx_support", "_aix_support", "_pyrepl", "uuid", "test", "doctest", "unittest", "cloudpickle", "dill",
        "joblib", "numpy.testing", "torch.jit", "torch._C", "torch.hub", "torch.package", "torch.utils.cpp_extension",
    ]

    /// `builtins` names that are plain data types; every other builtin (eval, exec, getattr,
    /// __import__, open, compile…) is refused.
    static let harmlessBuiltins: Set<String> = [
        "object", "dict", "list", "set", "frozenset", "tuple", "bytearray", "bytes", "str", "int", "float", "complex",
        "bool", "slice", "range",
    ]

    static func isHostile(_ global: GlobalName) -> Bool {
        if global.module == "builtins" { return !harmlessBuiltins.contains(global.name) }
        let root = global.module.split(separator: ".").first.map(String.init) ?? global.module
        return hostileModules.contains(root) || hostileModules.contains(global.module)
            || hostileModules.contains(where: { global.module.hasPrefix($0 + ".") })
    }

    /// REDUCE / INST / OBJ: `callable(*arguments)`.
    func call(_ callable: PickleValue, arguments: PickleValue, machine: PickleMachine, at: Int) throws(PickleError) -> PickleValue {
        guard case .global(let global) = callable else {
            throw PickleError(offset: at, "refused to call a \(callable.kindName): only named allowlisted functions are interpreted",
                              hint: "the pickle is hostile or not a checkpoint")
        }
        guard case .node(let tuple) = arguments, case .tuple = tuple.kind else {
            throw PickleError(offset: at, "arguments of \(global) are \(arguments.kindName), not a tuple")
        }
        let args = tuple.items
        switch global.description {
        case "collections.OrderedDict", "builtins.dict", "collections.Counter", "collections.defaultdict":
            let dict = machine.makeNode(.dict)
            // defaultdict(factory, …): the factory is never called, the items are kept.
            let source = global.name == "defaultdict" ? args.dropFirst().first : args.first
            if let source, case .node(let pairs) = source {
                for pair in pairs.items {
                    guard case .node(let kv) = pair, kv.items.count == 2 else {
                        throw PickleError(offset: at, "\(global) argument holds \(pair.kindName), not a key-value pair")
                    }
                    dict.setItem(kv.items[0], kv.items[1])
                }
                for (key, value) in pairs.entries { dict.setItem(key, value) }
            }
            return .node(dict)
        case "builtins.set", "builtins.frozenset":
            var items: [PickleValue] = []
            if let first = args.first, case .node(let members) = first { items = members.items }
            return .node(machine.makeNode(.set, items: items))
        case "builtins.bytearray", "builtins.bytes":
            switch args.first {
            case nil: return .bytes([])
            case .bytes(let b)?: return .bytes(b)
            case .string(let s)? where args.count >= 2: return try encode(s, args[1], at: at)
            default: throw PickleError(offset: at, "unsupported \(global) arguments")
            }
        case "_codecs.encode":
            guard args.count == 2, case .string(let text) = args[0] else {
                throw PickleError(offset: at, "_codecs.encode needs a string and an encoding")
            }
            return try encode(text, args[1], at: at)
        case "builtins.complex":
            return .opaque(typeName: "complex", summary: args.map(Self.shortSummary).joined(separator: ", "))
        case "builtins.slice", "builtins.range":
            return .opaque(typeName: global.name, summary: args.map(Self.shortSummary).joined(separator: ", "))
        case "torch.Size":
            guard let first = args.first, case .node(let dims) = first else { return .node(machine.makeNode(.tuple)) }
            return .node(machine.makeNode(.tuple, items: dims.items))
        case "torch.device":
            let parts = args.map { value -> String in
                switch value {
                case .string(let s): s
                case .int(let i): String(i)
                default: value.kindName
                }
            }
            return .opaque(typeName: "torch.device", summary: parts.joined(separator: ":"))
        case "torch.serialization._get_layout":
            return .opaque(typeName: "torch.layout", summary: args.first.map(Self.shortSummary) ?? "")
        case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
             "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            return try rebuildTensor(global.name, args, machine: machine, at: at)
        case "torch._tensor._rebuild_from_type_v2", "torch._tensor._rebuild_from_type":
            // (func, new_type, args, state): func must itself be a tensor rebuild function; the
            // subclass and state are dropped (the data is what weightconv carries).
            guard args.count == 4, case .global(let inner) = args[0], inner.module == "torch._utils",
                  ["_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
                   "_rebuild_parameter_with_state"].contains(inner.name),
                  case .node(let innerArgs) = args[2], case .tuple = innerArgs.kind else {
                throw PickleError(offset: at, "\(global) with arguments weightconv does not recognise")
            }
            return try rebuildTensor(inner.name, innerArgs.items, machine: machine, at: at)
        case "copyreg._reconstructor":
            // (cls, base, state): object.__new__(cls) when base is object; never calls cls.
            guard args.count == 3, case .global(let type) = args[0] else {
                throw PickleError(offset: at, "copyreg._reconstructor with arguments weightconv does not recognise")
            }
            return try newObject(.global(type), arguments: .node(machine.makeNode(.tuple)), machine: machine, at: at)
        case "copyreg.__newobj__":
            guard let first = args.first else { throw PickleError(offset: at, "copyreg.__newobj__ without a class") }
            return try newObject(first, arguments: .node(machine.makeNode(.tuple, items: Array(args.dropFirst()))), machine: machine, at: at)
        case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
            return NumpyScalar.value(args)
        case "numpy.dtype":
            return .node(machine.makeNode(.object(global), items: args))
        case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
            return .node(machine.makeNode(.object(GlobalName("numpy", "ndarray"))))
        case "argparse.Namespace", "types.SimpleNamespace":
            return .node(machine.makeNode(.object(global), items: args))
        case "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.Path", "pathlib.PurePosixPath", "pathlib.PureWindowsPath":
            return .opaque(typeName: global.description, summary: args.map(Self.shortSummary).joined(separator: "/"))
        case "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta":
            return .opaque(typeName: global.description, summary: args.map(Self.shortSummary).joined(separator: ", "))
        default:
            if TorchNames.isUnsupportedTorchType(global) || global.module == "torch._utils" {
                throw PickleError(offset: at, "\(global) is a torch type weightconv does not read",
                                  hint: "weightconv reads dense CPU tensors of F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL")
            }
            throw PickleError(offset: at, "refused to call \(global): it is not on weightconv's allowlist and nothing was executed",
                              hint: Self.isHostile(global) ? "the file is hostile; do not load it with torch.load either"
                                  : "if you trust the file, re-save it with torch.save(model.state_dict(), …)")
        }
    }

    /// NEWOBJ / NEWOBJ_EX / `copyreg._reconstructor`: `cls.__new__(cls, …)`. Allowlisted types are
    /// interpreted; other classes become inert objects whose state BUILD records.
    func newObject(_ type: PickleValue, arguments: PickleValue, machine: PickleMachine, at: Int) throws(PickleError) -> PickleValue {
        guard case .global(let global) = type else {
            throw PickleError(offset: at, "NEWOBJ on a \(type.kindName), not a class")
        }
        switch global.description {
        case "collections.OrderedDict", "builtins.dict", "collections.Counter", "collections.defaultdict",
             "builtins.set", "builtins.frozenset", "torch.Size", "builtins.bytearray":
            return try call(type, arguments: arguments, machine: machine, at: at)
        case "builtins.list":
            return .node(machine.makeNode(.list))
        case "builtins.tuple":
            guard case .node(let tuple) = arguments, let first = tuple.items.first, case .node(let items) = first else {
                return .node(machine.makeNode(.tuple))
            }
            return .node(machine.makeNode(.tuple, items: items.items))
        default:
            break
        }
        if Self.isHostile(global) || TorchNames.storageDType(global) != nil || global.module == "torch._utils" {
            throw PickleError(offset: at, "refused to instantiate \(global): it is not a class a checkpoint holds and nothing was executed",
                              hint: "the file is hostile or not a checkpoint")
        }
        let items: [PickleValue]
        if case .node(let tuple) = arguments { items = tuple.items } else { items = [] }
        return .node(machine.makeNode(.object(global), items: items))
    }

    /// BUILD: records the state on an inert object or a dict (an OrderedDict's `_metadata`). Tensors
    /// accept and drop it (Parameter attributes). Anything else would mean mutating a class or
    /// module, which is how some exploits work, so it is refused.
    func build(_ target: PickleValue, state: PickleValue, at: Int) throws(PickleError) {
        switch target {
        case .node(let node):
            switch node.kind {
            case .object, .dict:
                node.state = state
            default:
                throw PickleError(offset: at, "BUILD on a \(node.kind.name) is refused")
            }
        case .tensor, .opaque:
            break
        default:
            throw PickleError(offset: at, "BUILD on \(target.kindName) is refused: it would modify a class or module",
                              hint: "the file is hostile or not a checkpoint")
        }
    }

    // MARK: - Tensors

    private func rebuildTensor(_ name: String, _ args: [PickleValue], machine: PickleMachine, at: Int) throws(PickleError) -> PickleValue {
        switch name {
        case "_rebuild_tensor", "_rebuild_tensor_v2":
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            let allowed = name == "_rebuild_tensor" ? 4...4 : 6...7
            guard allowed.contains(args.count) else {
                throw PickleError(offset: at, "torch._utils.\(name) with \(args.count) arguments")
            }
            guard case .storage(let storage) = args[0] else {
                throw PickleError(offset: at, "torch._utils.\(name) on a \(args[0].kindName), not a storage")
            }
            return .tensor(try TensorReference.make(storage: storage, dtype: storage.dtype, offset: args[1], size: args[2], stride: args[3], at: at))
        case "_rebuild_tensor_v3":
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata]);
            // the storage is untyped, the dtype comes from the argument.
            guard (7...8).contains(args.count) else {
                throw PickleError(offset: at, "torch._utils._rebuild_tensor_v3 with \(args.count) arguments")
            }
            guard case .storage(let storage) = args[0] else {
                throw PickleError(offset: at, "torch._utils._rebuild_tensor_v3 on a \(args[0].kindName), not a storage")
            }
            guard case .global(let dtypeName) = args[6], let dtype = TorchNames.dtype(dtypeName) else {
                throw PickleError(offset: at, "torch._utils._rebuild_tensor_v3 with dtype \(Self.shortSummary(args[6])), which weightconv does not read",
                                  hint: "weightconv reads F64/F32/F16/BF16/I64/I32/I16/I8/U8/BOOL tensors")
            }
            return .tensor(try TensorReference.make(storage: storage, dtype: dtype, offset: args[1], size: args[2], stride: args[3], at: at))
        case "_rebuild_parameter", "_rebuild_parameter_with_state":
            // (data, requires_grad, backward_hooks[, state])
            guard args.count == (name == "_rebuild_parameter" ? 3 : 4), case .tensor(var tensor) = args[0] else {
                throw PickleError(offset: at, "torch._utils.\(name) with arguments weightconv does not recognise")
            }
            tensor.isParameter = true
            return .tensor(tensor)
        default:
            throw PickleError(offset: at, "torch._utils.\(name) is not a tensor rebuild function weightconv reads")
        }
    }

    private func encode(_ text: String, _ encoding: PickleValue, at: Int) throws(PickleError) -> PickleValue {
        guard case .string(let name) = encoding else { throw PickleError(offset: at, "encoding is not a string") }
        switch name.lowercased() {
        case "latin1", "latin-1", "iso-8859-1", "iso8859-1":
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.unicodeScalars.count)
            for scalar in text.unicodeScalars {
                guard scalar.value < 256 else { throw PickleError(offset: at, "character outside Latin-1 in a latin1-encoded string") }
                bytes.append(UInt8(scalar.value))
            }
            return .bytes(bytes)
        case "utf-8", "utf8", "ascii":
            return .bytes(Array(text.utf8))
        default:
            throw PickleError(offset: at, "refused _codecs.encode with encoding '\(name.prefix(40))'",
                              hint: "checkpoints only encode bytes as latin1")
        }
    }

    /// A short, bounded spelling of a value for opaque summaries and messages.
    static func shortSummary(_ value: PickleValue) -> String {
        let text: String
        switch value {
        case .none: text = "None"
        case .bool(let b): text = b ? "True" : "False"
        case .int(let i): text = String(i)
        case .bigInt(let s): text = s
        case .float(let d): text = String(d)
        case .string(let s): text = "'" + s + "'"
        case .bytes(let b): text = "<\(b.count) bytes>"
        case .global(let g): text = g.description
        case .opaque(let type, let summary): text = "\(type)(\(summary))"
        default: text = value.kindName
        }
        return bounded(text, 120)
    }

    /// `text`, or its first `limit − 3` scalars and "..." when it is longer. Reads at most `limit`
    /// scalars: a key or summary can be a megabyte that shared references reach a million times,
    /// and `String.count` walks all of it (FuzzLegacy spent its time there).
    static func bounded(_ text: String, _ limit: Int) -> String {
        // No more UTF-8 bytes than the limit means no more scalars either (O(1) for native strings).
        let bytes = text.utf8
        if bytes.count <= limit { return text }
        // Count scalar starts (bytes that are not 10xxxxxx continuations) up to limit + 1.
        var scalars = 0
        var cut = bytes.startIndex
        for index in bytes.indices {
            if bytes[index] & 0xC0 != 0x80 {
                if scalars == limit - 3 { cut = index }
                scalars += 1
                if scalars > limit { return String(decoding: bytes[..<cut], as: UTF8.self) + "..." }
            }
        }
        return text
    }
}

/// `numpy.core.multiarray.scalar(dtype, bytes)`: a numpy scalar (an `np.float64` epoch, a
/// `np.int64` step) kept as an opaque value with its number decoded when the dtype is simple.
enum NumpyScalar {
    static func value(_ args: [PickleValue]) -> PickleValue {
        guard args.count == 2, case .node(let dtype) = args[0], case .bytes(let raw) = args[1],
              case .string(let descr) = dtype.items.first else {
            return .opaque(typeName: "numpy.scalar", summary: "?")
        }
        // BUILD gave the dtype its state tuple; element 1 is the byte order ('<', '>', '|').
        var bigEndian = false
        if case .node(let state)? = dtype.state, state.items.count > 1, case .string(let order) = state.items[1] { bigEndian = order == ">" }
        let bytes = bigEndian ? Array(raw.reversed()) : raw
        func load<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard bytes.count == MemoryLayout<T>.size else { return nil }
            var v: T = 0
            for (i, b) in bytes.enumerated() { v |= T(truncatingIfNeeded: b) << (8 * i) }
            return v
        }
        let summary: String
        switch descr {
        case "f8": summary = load(UInt64.self).map { String(Double(bitPattern: $0)) } ?? "?"
        case "f4": summary = load(UInt32.self).map { String(Float(bitPattern: $0)) } ?? "?"
        case "i8": summary = load(Int64.self).map { String($0) } ?? "?"
        case "i4": summary = load(Int32.self).map { String($0) } ?? "?"
        case "u8": summary = load(UInt64.self).map { String($0) } ?? "?"
        case "u4": summary = load(UInt32.self).map { String($0) } ?? "?"
        case "b1": summary = bytes.first.map { $0 != 0 ? "True" : "False" } ?? "?"
        default: summary = "<\(raw.count) bytes>"
        }
        return .opaque(typeName: "numpy.\(numpyTypeName(descr))", summary: summary)
    }

    static func numpyTypeName(_ descr: String) -> String {
        switch descr {
        case "f8": "float64"
        case "f4": "float32"
        case "f2": "float16"
        case "i8": "int64"
        case "i4": "int32"
        case "u8": "uint64"
        case "u4": "uint32"
        case "b1": "bool"
        default: descr
        }
    }
}
