import WeightconvCore

/// An iterative interpreter for pickle protocols 0 to 5 that never imports, calls or executes
/// anything: GLOBAL only names things, and the few callables a checkpoint needs are interpreted by
/// `PickleCallables` (everything else is refused with the global's name).
///
/// The machine is a loop over opcodes with an explicit stack, so no input can make it recurse;
/// every count read from the stream is checked against `PickleLimits` before it sizes anything.
final class PickleMachine {
    typealias PersistentLoad = (PickleValue, Int) throws(PickleError) -> PickleValue

    let limits: PickleLimits
    let callables: PickleCallables
    private let persistentLoad: PersistentLoad?

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Every node ever made; emptied in `deinit` so deep structures are freed without recursion.
    private var arena: [PickleNode] = []

    init(limits: PickleLimits = .standard, callables: PickleCallables = PickleCallables(),
         persistentLoad: PersistentLoad? = nil) {
        self.limits = limits
        self.callables = callables
        self.persistentLoad = persistentLoad
    }

    deinit {
        for node in arena { node.release() }
    }

    func makeNode(_ kind: PickleNode.Kind, items: [PickleValue] = []) -> PickleNode {
        let node = PickleNode(kind: kind, items: items)
        arena.append(node)
        return node
    }

    /// Runs a pickle held in an array (a zip entry read whole).
    func run(_ array: [UInt8]) throws(PickleError) -> (value: PickleValue, end: Int) {
        var outcome: Result<(value: PickleValue, end: Int), PickleError> = .failure(PickleError(offset: 0, "pickle was not run"))
        array.withUnsafeBytes { bytes in
            do throws(PickleError) { outcome = .success(try run(bytes, from: 0)) } catch { outcome = .failure(error) }
        }
        return try outcome.get()
    }

    /// Runs one pickle starting at `start`; returns the value STOP left and the offset after STOP
    /// (the legacy format puts several pickles back to back).
    func run(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) throws(PickleError) -> (value: PickleValue, end: Int) {
        stack.removeAll(keepingCapacity: true)
        marks.removeAll(keepingCapacity: true)
        memo.removeAll(keepingCapacity: true)
        guard bytes.count - start <= limits.maxPickleBytes else {
            throw PickleError(offset: start, "pickle of \(bytes.count - start) bytes is over the maxPickleBytes limit (\(limits.maxPickleBytes))",
                              hint: PickleLimits.raising("maxPickleBytes"))
        }
        var reader = ByteReader(bytes: bytes, position: start)

        while true {
            let at = reader.position
            // Checked per opcode (an opcode makes at most a couple of nodes) so makeNode stays simple.
            guard arena.count <= limits.maxContainers else {
                throw PickleError(offset: at, "more than \(limits.maxContainers) containers (maxContainers limit)",
                                  hint: "no checkpoint's pickle builds this many lists, tuples and dicts; " + PickleLimits.raising("maxContainers"))
            }
            let byte = try reader.byte(what: "an opcode")
            guard let opcode = PickleOpcode(rawValue: byte) else {
                throw PickleError(offset: at, "unknown opcode 0x\(String(byte, radix: 16))", hint: "the file is not a pickle or is damaged")
            }
            switch opcode {
            // MARK: framing and protocol
            case .proto:
                let version = try reader.byte(what: "the protocol number")
                guard version <= 5 else { throw PickleError(offset: at, "unsupported pickle protocol \(version)") }
            case .frame: // a length hint only; it must still lie inside the stream.
                let length = try reader.uint(8)
                guard length <= UInt64(reader.remaining) else {
                    throw PickleError(offset: at, "frame of \(length) bytes runs past the end of the pickle", hint: "the file is truncated")
                }
            case .stop:
                guard let result = stack.popLast() else { throw PickleError(offset: at, "STOP with an empty stack") }
                return (result, reader.position)

            // MARK: stack manipulation
            case .mark:
                guard marks.count < limits.maxMarkDepth else {
                    throw PickleError(offset: at, "more than \(limits.maxMarkDepth) open MARKs (maxMarkDepth limit)",
                                      hint: PickleLimits.raising("maxMarkDepth"))
                }
                marks.append(stack.count)
            case .pop:
                if stack.isEmpty {
                    // CPython pops a MARK when the stack above it is empty.
                    guard marks.popLast() != nil else { throw PickleError(offset: at, "POP on an empty stack") }
                } else if let mark = marks.last, mark == stack.count {
                    marks.removeLast()
                } else {
                    stack.removeLast()
                }
            case .popMark:
                _ = try popMark(at)
            case .dup:
                guard let top = stack.last else { throw PickleError(offset: at, "DUP on an empty stack") }
                try push(top, at)

            // MARK: scalars
            case .none: try push(.none, at)
            case .newTrue: try push(.bool(true), at)
            case .newFalse: try push(.bool(false), at)
            case .binInt1: try push(.int(Int(try reader.uint(1))), at)
            case .binInt2: try push(.int(Int(try reader.uint(2))), at)
            case .binInt: try push(.int(Int(Int32(bitPattern: UInt32(try reader.uint(4))))), at)
            case .long1:
                let count = Int(try reader.uint(1))
                try push(try integer(from: try reader.bytes(count, what: "LONG1 digits"), at), at)
            case .long4:
                let count = Int(Int32(bitPattern: UInt32(try reader.uint(4))))
                guard count >= 0, count <= limits.maxIntegerBytes else {
                    throw PickleError(offset: at, "LONG4 of \(count) bytes is over the maxIntegerBytes limit (\(limits.maxIntegerBytes))",
                                      hint: PickleLimits.raising("maxIntegerBytes"))
                }
                try push(try integer(from: try reader.bytes(count, what: "LONG4 digits"), at), at)
            case .int: // text; "01"/"00" are protocol 0's True/False
                let text = try reader.line(what: "INT")
                if text == "01" { try push(.bool(true), at) } else if text == "00" { try push(.bool(false), at) } else {
                    try push(try decimalInteger(text, at), at)
                }
            case .long: // text, optional trailing L
                var text = try reader.line(what: "LONG")
                if text.hasSuffix("L") { text.removeLast() }
                try push(try decimalInteger(text, at), at)
            case .float: // text
                let text = try reader.line(what: "FLOAT")
                guard let value = Double(text.trimmingSpaces) else { throw PickleError(offset: at, "FLOAT '\(text.prefix(40))' is not a number") }
                try push(.float(value), at)
            case .binFloat: // big-endian IEEE double
                try push(.float(Double(bitPattern: try reader.bigEndianUInt64())), at)

            // MARK: strings and bytes
            case .binUnicode:
                try push(.string(try utf8(try reader.bytes(try reader.count(4, what: "BINUNICODE"), what: "BINUNICODE"), at)), at)
            case .shortBinUnicode:
                try push(.string(try utf8(try reader.bytes(try reader.count(1, what: "SHORT_BINUNICODE"), what: "SHORT_BINUNICODE"), at)), at)
            case .binUnicode8:
                try push(.string(try utf8(try reader.bytes(try reader.count(8, what: "BINUNICODE8"), what: "BINUNICODE8"), at)), at)
            case .unicode: // raw-unicode-escape text
                try push(.string(try rawUnicodeEscape(try reader.lineBytes(what: "UNICODE"), at)), at)
            case .string: // a quoted Python 2 str
                try push(.string(try quotedString(try reader.lineBytes(what: "STRING"), at)), at)
            case .binString:
                let count = Int(Int32(bitPattern: UInt32(try reader.uint(4))))
                guard count >= 0 else { throw PickleError(offset: at, "BINSTRING with negative length \(count)") }
                try push(.string(latin1OrUTF8(try reader.bytes(count, what: "BINSTRING"))), at)
            case .shortBinString:
                try push(.string(latin1OrUTF8(try reader.bytes(try reader.count(1, what: "SHORT_BINSTRING"), what: "SHORT_BINSTRING"))), at)
            case .binBytes:
                try push(.bytes(try reader.bytes(try reader.count(4, what: "BINBYTES"), what: "BINBYTES")), at)
            case .shortBinBytes:
                try push(.bytes(try reader.bytes(try reader.count(1, what: "SHORT_BINBYTES"), what: "SHORT_BINBYTES")), at)
            case .binBytes8:
                try push(.bytes(try reader.bytes(try reader.count(8, what: "BINBYTES8"), what: "BINBYTES8")), at)
            case .byteArray8:
                try push(.bytes(try reader.bytes(try reader.count(8, what: "BYTEARRAY8"), what: "BYTEARRAY8")), at)
            case .nextBuffer, .readOnlyBuffer:
                throw PickleError(offset: at, "out-of-band pickle buffers are not supported", hint: "torch.save never writes them")

            // MARK: containers
            case .emptyTuple: try push(.node(makeNode(.tuple)), at)
            case .emptyList: try push(.node(makeNode(.list)), at)
            case .emptyDict: try push(.node(makeNode(.dict)), at)
            case .emptySet: try push(.node(makeNode(.set)), at)
            case .tuple1, .tuple2, .tuple3:
                let count = Int(opcode.rawValue - PickleOpcode.tuple1.rawValue) + 1
                guard stack.count - (marks.last ?? 0) >= count else { throw PickleError(offset: at, "TUPLE\(count) needs \(count) values on the stack") }
                let items = Array(stack.suffix(count))
                stack.removeLast(count)
                try push(.node(makeNode(.tuple, items: items)), at)
            case .tuple:
                try push(.node(makeNode(.tuple, items: try popMark(at))), at)
            case .list:
                try push(.node(makeNode(.list, items: try popMark(at))), at)
            case .frozenSet:
                try push(.node(makeNode(.set, items: try popMark(at))), at)
            case .dict:
                let items = try popMark(at)
                guard items.count % 2 == 0 else { throw PickleError(offset: at, "DICT with an odd number of values") }
                let dict = makeNode(.dict)
                for i in stride(from: 0, to: items.count, by: 2) { dict.setItem(items[i], items[i + 1]) }
                try push(.node(dict), at)
            case .append:
                let value = try pop(at)
                try append([value], to: try top(at), at)
            case .appends:
                let values = try popMark(at)
                try append(values, to: try top(at), at)
            case .addItems:
                let values = try popMark(at)
                try append(values, to: try top(at), at)
            case .setItem:
                let value = try pop(at)
                let key = try pop(at)
                try setItems([key, value], in: try top(at), at)
            case .setItems:
                let values = try popMark(at)
                guard values.count % 2 == 0 else { throw PickleError(offset: at, "SETITEMS with an odd number of values") }
                try setItems(values, in: try top(at), at)

            // MARK: memo
            case .put:
                try store(try decimalIndex(try reader.line(what: "PUT"), at), at)
            case .binPut: try store(Int(try reader.uint(1)), at)
            case .longBinPut: try store(Int(try reader.uint(4)), at)
            case .memoize: try store(memo.count, at)
            case .get: try fetch(try decimalIndex(try reader.line(what: "GET"), at), at)
            case .binGet: try fetch(Int(try reader.uint(1)), at)
            case .longBinGet: try fetch(Int(try reader.uint(4)), at)

            // MARK: globals and the operations that would call them
            case .global:
                let module = try reader.line(what: "GLOBAL module")
                let name = try reader.line(what: "GLOBAL name")
                try push(.global(GlobalName(module, name)), at)
            case .stackGlobal:
                let name = try pop(at)
                let module = try pop(at)
                guard case .string(let n) = name, case .string(let m) = module else {
                    throw PickleError(offset: at, "STACK_GLOBAL needs two strings, got \(module.kindName) and \(name.kindName)")
                }
                try push(.global(GlobalName(m, n)), at)
            case .ext1, .ext2, .ext4:
                let code = try reader.uint(opcode == .ext1 ? 1 : opcode == .ext2 ? 2 : 4)
                throw PickleError(offset: at, "refused extension-registry code \(code): it names a callable weightconv cannot check",
                                  hint: "this is not something torch.save writes")
            case .reduce:
                let arguments = try pop(at)
                let callable = try pop(at)
                try push(try callables.call(callable, arguments: arguments, machine: self, at: at), at)
            case .newObj:
                let arguments = try pop(at)
                let type = try pop(at)
                try push(try callables.newObject(type, arguments: arguments, machine: self, at: at), at)
            case .newObjEx:
                _ = try pop(at) // keyword arguments: kept nowhere, objects are inert
                let arguments = try pop(at)
                let type = try pop(at)
                try push(try callables.newObject(type, arguments: arguments, machine: self, at: at), at)
            case .inst: // calls module.name(*args)
                let module = try reader.line(what: "INST module")
                let name = try reader.line(what: "INST name")
                let arguments = makeNode(.tuple, items: try popMark(at))
                try push(try callables.call(.global(GlobalName(module, name)), arguments: .node(arguments), machine: self, at: at), at)
            case .obj: // calls the first value after MARK with the rest
                var values = try popMark(at)
                guard !values.isEmpty else { throw PickleError(offset: at, "OBJ without a class") }
                let callable = values.removeFirst()
                let arguments = makeNode(.tuple, items: values)
                try push(try callables.call(callable, arguments: .node(arguments), machine: self, at: at), at)
            case .build:
                let state = try pop(at)
                try callables.build(try top(at), state: state, at: at)
            case .persId:
                let id = try reader.line(what: "PERSID")
                try push(try loadPersistent(.string(id), at), at)
            case .binPersId:
                try push(try loadPersistent(try pop(at), at), at)
            }
        }
    }

    // MARK: - Stack helpers

    private func push(_ value: PickleValue, _ at: Int) throws(PickleError) {
        guard stack.count < limits.maxStackDepth else {
            throw PickleError(offset: at, "stack deeper than \(limits.maxStackDepth) values (maxStackDepth limit)",
                              hint: PickleLimits.raising("maxStackDepth"))
        }
        stack.append(value)
    }

    private func pop(_ at: Int) throws(PickleError) -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.popLast() else {
            throw PickleError(offset: at, "opcode needs a value but the stack (above the last MARK) is empty")
        }
        return value
    }

    private func top(_ at: Int) throws(PickleError) -> PickleValue {
        guard stack.count > (marks.last ?? 0), let value = stack.last else {
            throw PickleError(offset: at, "opcode needs a value but the stack (above the last MARK) is empty")
        }
        return value
    }

    private func popMark(_ at: Int) throws(PickleError) -> [PickleValue] {
        guard let mark = marks.popLast() else { throw PickleError(offset: at, "no MARK on the stack") }
        let values = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return values
    }

    private func append(_ values: [PickleValue], to target: PickleValue, _ at: Int) throws(PickleError) {
        guard case .node(let node) = target else {
            throw PickleError(offset: at, "cannot append to \(target.kindName)")
        }
        switch node.kind {
        case .list, .set, .object:
            guard node.items.count + values.count <= limits.maxContainerItems else {
                throw PickleError(offset: at, "container with more than \(limits.maxContainerItems) items (maxContainerItems limit)",
                                  hint: PickleLimits.raising("maxContainerItems"))
            }
            node.items.append(contentsOf: values)
        case .tuple, .dict:
            throw PickleError(offset: at, "cannot append to a \(node.kind.name)")
        }
    }

    private func setItems(_ values: [PickleValue], in target: PickleValue, _ at: Int) throws(PickleError) {
        guard case .node(let node) = target else {
            throw PickleError(offset: at, "cannot set items in \(target.kindName)")
        }
        switch node.kind {
        case .dict, .object:
            guard node.entries.count + values.count / 2 <= limits.maxContainerItems else {
                throw PickleError(offset: at, "dict with more than \(limits.maxContainerItems) items (maxContainerItems limit)",
                                  hint: PickleLimits.raising("maxContainerItems"))
            }
            for i in stride(from: 0, to: values.count, by: 2) { node.setItem(values[i], values[i + 1]) }
        case .tuple, .list, .set:
            throw PickleError(offset: at, "cannot set items in a \(node.kind.name)")
        }
    }

    private func store(_ index: Int, _ at: Int) throws(PickleError) {
        guard stack.count > (marks.last ?? 0), let value = stack.last else {
            throw PickleError(offset: at, "memo store with an empty stack")
        }
        guard index >= 0 else { throw PickleError(offset: at, "negative memo index \(index)") }
        if memo[index] == nil, memo.count >= limits.maxMemoEntries {
            throw PickleError(offset: at, "more than \(limits.maxMemoEntries) memo entries (maxMemoEntries limit)",
                              hint: PickleLimits.raising("maxMemoEntries"))
        }
        memo[index] = value
    }

    private func fetch(_ index: Int, _ at: Int) throws(PickleError) {
        guard let value = memo[index] else {
            throw PickleError(offset: at, "memo reference \(index) was never stored", hint: "the pickle is damaged or hostile")
        }
        try push(value, at)
    }

    private func loadPersistent(_ id: PickleValue, _ at: Int) throws(PickleError) -> PickleValue {
        guard let persistentLoad else {
            throw PickleError(offset: at, "persistent id (a tensor storage) in a pickle that has no storages",
                              hint: "a bare pickle cannot carry torch storages; load the original torch.save file")
        }
        return try persistentLoad(id, at)
    }

    // MARK: - Scalar decoding

    private func integer(from bytes: [UInt8], _ at: Int) throws(PickleError) -> PickleValue {
        guard bytes.count <= limits.maxIntegerBytes else {
            throw PickleError(offset: at, "integer of \(bytes.count) bytes is over the maxIntegerBytes limit (\(limits.maxIntegerBytes))",
                              hint: PickleLimits.raising("maxIntegerBytes"))
        }
        return LittleEndianInteger.value(bytes)
    }

    private func decimalInteger(_ text: String, _ at: Int) throws(PickleError) -> PickleValue {
        let trimmed = text.trimmingSpaces
        if let value = Int(trimmed) { return .int(value) }
        let digits = trimmed.hasPrefix("-") || trimmed.hasPrefix("+") ? trimmed.dropFirst() : Substring(trimmed)
        guard !digits.isEmpty, digits.count <= limits.maxIntegerBytes * 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw PickleError(offset: at, "'\(text.prefix(40))' is not an integer")
        }
        let sign = trimmed.hasPrefix("-") ? "-" : ""
        let stripped = digits.drop { $0 == "0" }
        return .bigInt(sign + (stripped.isEmpty ? "0" : String(stripped)))
    }

    private func decimalIndex(_ text: String, _ at: Int) throws(PickleError) -> Int {
        guard let value = Int(text.trimmingSpaces), value >= 0 else {
            throw PickleError(offset: at, "memo index '\(text.prefix(40))' is not a non-negative integer")
        }
        return value
    }

    private func utf8(_ bytes: [UInt8], _ at: Int) throws(PickleError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PickleError(offset: at, "string is not valid UTF-8")
        }
        return text
    }

    private func latin1OrUTF8(_ bytes: [UInt8]) -> String {
        String(validating: bytes, as: UTF8.self) ?? String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    /// Python's raw-unicode-escape: bytes are Latin-1 except `\uXXXX` and `\UXXXXXXXX`.
    private func rawUnicodeEscape(_ bytes: [UInt8], _ at: Int) throws(PickleError) -> String {
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "u") || bytes[i + 1] == UInt8(ascii: "U") {
                let width = bytes[i + 1] == UInt8(ascii: "u") ? 4 : 8
                guard i + 2 + width <= bytes.count,
                      let code = UInt32(String(decoding: bytes[(i + 2)..<(i + 2 + width)], as: UTF8.self), radix: 16),
                      let scalar = Unicode.Scalar(code) else {
                    throw PickleError(offset: at, "bad \\u escape in UNICODE string")
                }
                scalars.append(scalar)
                i += 2 + width
            } else {
                scalars.append(Unicode.Scalar(bytes[i]))
                i += 1
            }
        }
        return String(scalars)
    }

    /// A protocol 0 STRING: `'…'` or `"…"` with Python 2 escapes, decoded as Latin-1.
    private func quotedString(_ bytes: [UInt8], _ at: Int) throws(PickleError) -> String {
        guard bytes.count >= 2, let quote = bytes.first, quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\""),
              bytes.last == quote else {
            throw PickleError(offset: at, "STRING argument is not quoted")
        }
        let body = bytes[1..<(bytes.count - 1)]
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            guard c == UInt8(ascii: "\\"), i + 1 < body.endIndex else { out.append(c); i += 1; continue }
            let e = body[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var value = Int(e - UInt8(ascii: "0"))
                var digits = 1
                while digits < 3, i < body.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(body[i]) {
                    value = value * 8 + Int(body[i] - UInt8(ascii: "0")); i += 1; digits += 1
                }
                out.append(UInt8(truncatingIfNeeded: value))
            case UInt8(ascii: "x"):
                guard i + 2 <= body.endIndex, let value = UInt8(String(decoding: body[i..<(i + 2)], as: UTF8.self), radix: 16) else {
                    throw PickleError(offset: at, "bad \\x escape in STRING")
                }
                out.append(value); i += 2
            default: out.append(e) // \\ \' \" and unknown escapes keep the character
            }
        }
        return String(String.UnicodeScalarView(out.map { Unicode.Scalar($0) }))
    }
}

/// Sign-extended little-endian integers (LONG1/LONG4), with a decimal spelling beyond 64 bits.
enum LittleEndianInteger {
    static func value(_ bytes: [UInt8]) -> PickleValue {
        if bytes.isEmpty { return .int(0) }
        let negative = (bytes[bytes.count - 1] & 0x80) != 0
        if bytes.count <= 8 {
            var raw: UInt64 = negative ? ~0 : 0
            for (i, b) in bytes.enumerated() {
                raw &= ~(UInt64(0xFF) << (8 * UInt64(i)))
                raw |= UInt64(b) << (8 * UInt64(i))
            }
            return .int(Int(Int64(bitPattern: raw)))
        }
        // Magnitude in base 256 (two's complement negated for negatives), then to decimal.
        var magnitude = bytes
        if negative {
            var carry = 1
            for i in magnitude.indices {
                let v = Int(~magnitude[i] & 0xFF) + carry
                magnitude[i] = UInt8(v & 0xFF)
                carry = v >> 8
            }
        }
        var digits: [UInt8] = []
        var number = Array(magnitude.reversed().drop { $0 == 0 })  // big-endian, no leading zeros
        while !number.isEmpty {
            var remainder = 0
            var next: [UInt8] = []
            next.reserveCapacity(number.count)
            for byte in number {
                let current = remainder * 256 + Int(byte)
                let q = current / 10
                remainder = current % 10
                if !(next.isEmpty && q == 0) { next.append(UInt8(q)) }
            }
            digits.append(UInt8(remainder) + UInt8(ascii: "0"))
            number = next
        }
        let text = String(decoding: digits.reversed(), as: UTF8.self)
        if let small = Int(negative ? "-" + text : text) { return .int(small) }
        return .bigInt((negative ? "-" : "") + (text.isEmpty ? "0" : text))
    }
}

/// Bounds-checked reading of the pickle stream; every count is checked against what is left
/// before anything is allocated for it.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    var position: Int

    var remaining: Int { bytes.count - position }

    mutating func byte(what: String) throws(PickleError) -> UInt8 {
        guard position < bytes.count else {
            throw PickleError(offset: position, "pickle ends while reading \(what)", hint: "the file is truncated")
        }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func uint(_ width: Int) throws(PickleError) -> UInt64 {
        guard remaining >= width else {
            throw PickleError(offset: position, "pickle ends inside a \(width)-byte argument", hint: "the file is truncated")
        }
        var value: UInt64 = 0
        for i in 0..<width { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += width
        return value
    }

    mutating func bigEndianUInt64() throws(PickleError) -> UInt64 {
        guard remaining >= 8 else {
            throw PickleError(offset: position, "pickle ends inside a BINFLOAT", hint: "the file is truncated")
        }
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[position + i]) }
        position += 8
        return value
    }

    /// A length prefix of `width` bytes, checked against the bytes left in the stream.
    mutating func count(_ width: Int, what: String) throws(PickleError) -> Int {
        let at = position
        let raw = try uint(width)
        guard raw <= UInt64(remaining) else {
            throw PickleError(offset: at, "\(what) claims \(raw) bytes but only \(remaining) remain", hint: "the file is truncated or hostile")
        }
        return Int(raw)
    }

    mutating func bytes(_ count: Int, what: String) throws(PickleError) -> [UInt8] {
        guard count >= 0, count <= remaining else {
            throw PickleError(offset: position, "\(what) claims \(count) bytes but only \(remaining) remain", hint: "the file is truncated")
        }
        defer { position += count }
        return Array(bytes[position..<(position + count)])
    }

    /// Bytes up to the next newline (protocol 0 arguments), newline consumed.
    mutating func lineBytes(what: String) throws(PickleError) -> [UInt8] {
        let start = position
        var i = position
        while i < bytes.count, bytes[i] != 0x0A { i += 1 }
        guard i < bytes.count else {
            throw PickleError(offset: start, "pickle ends inside the text argument of \(what)", hint: "the file is truncated")
        }
        position = i + 1
        var line = Array(bytes[start..<i])
        if line.last == 0x0D { line.removeLast() }
        return line
    }

    mutating func line(what: String) throws(PickleError) -> String {
        let raw = try lineBytes(what: what)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw PickleError(offset: position, "text argument of \(what) is not valid UTF-8")
        }
        return text
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
