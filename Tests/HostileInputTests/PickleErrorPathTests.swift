import Testing
import TorchCheckpoint
import WeightconvCore

/// A crafted input and a phrase its one-line refusal must contain.
struct Case: CustomTestStringConvertible, Sendable {
    var name: String
    var bytes: [UInt8]
    var mentions: String
    var testDescription: String { name }

    init(_ name: String, _ bytes: [UInt8], _ mentions: String) {
        self.name = name
        self.bytes = bytes
        self.mentions = mentions
    }
}

/// Every refusal of the pickle machine (PickleMachine.swift) and of the allowlist that interprets
/// calls (PickleCallables.swift), each reached by a bare pickle built opcode by opcode.
@Suite struct PickleErrorPathTests {
    static let machine: [Case] = [
        Case("protocol 6", Op.proto() + Op.proto(6) + Op.none + Op.stop, "unsupported pickle protocol 6"),
        Case("frame past the end", Op.proto(4) + Op.code(.frame, Op.le64(1000)) + Op.none + Op.stop, "frame of 1000 bytes runs past the end"),
        Case("STOP on an empty stack", Op.proto() + Op.stop, "STOP with an empty stack"),
        Case("POP on an empty stack", Op.proto() + Op.pop + Op.stop, "POP on an empty stack"),
        Case("POP_MARK without MARK", Op.proto() + Op.popMark + Op.stop, "no MARK on the stack"),
        Case("DUP on an empty stack", Op.proto() + Op.dup + Op.stop, "DUP on an empty stack"),
        Case("LONG4 with a negative length", Op.proto() + Op.long4(count: -1), "LONG4 of -1 bytes is over the maxIntegerBytes limit"),
        Case("INT that is not a number", Op.proto() + Op.text(.int, "abc") + Op.stop, "'abc' is not an integer"),
        Case("LONG that is not a number", Op.proto() + Op.text(.long, "12x") + Op.stop, "'12x' is not an integer"),
        Case("FLOAT that is not a number", Op.proto() + Op.text(.float, "xyz") + Op.stop, "FLOAT 'xyz' is not a number"),
        Case("out-of-band buffer", Op.proto(5) + Op.code(.nextBuffer) + Op.stop, "out-of-band pickle buffers are not supported"),
        Case("TUPLE2 with one value", Op.proto() + Op.int(1) + Op.tuple2 + Op.stop, "TUPLE2 needs 2 values"),
        Case("DICT with an odd count", Op.proto() + Op.mark + Op.int(1) + Op.dict + Op.stop, "DICT with an odd number of values"),
        Case("APPEND to an int", Op.proto() + Op.int(1) + Op.int(2) + Op.append + Op.stop, "cannot append to int"),
        Case("APPEND to a tuple", Op.proto() + Op.emptyTuple + Op.int(2) + Op.append + Op.stop, "cannot append to a tuple"),
        Case("SETITEMS with an odd count", Op.proto() + Op.emptyDict + Op.mark + Op.int(1) + Op.setItems + Op.stop,
             "SETITEMS with an odd number of values"),
        Case("SETITEM on a list", Op.proto() + Op.emptyList + Op.int(1) + Op.int(2) + Op.setItem + Op.stop, "cannot set items in a list"),
        Case("SETITEM on an int", Op.proto() + Op.int(0) + Op.int(1) + Op.int(2) + Op.setItem + Op.stop, "cannot set items in int"),
        Case("BINPUT on an empty stack", Op.proto() + Op.binPut(0) + Op.stop, "memo store with an empty stack"),
        Case("PUT with a negative index", Op.proto() + Op.none + Op.text(.put, "-1") + Op.stop, "memo index '-1' is not a non-negative integer"),
        Case("GET of a missing memo entry", Op.proto() + Op.binGet(5) + Op.stop, "memo reference 5 was never stored"),
        Case("LONG_BINGET far away", Op.proto() + Op.longBinGet(0xFFFF_FFFF) + Op.stop, "memo reference 4294967295 was never stored"),
        Case("STACK_GLOBAL of ints", Op.proto() + Op.int(1) + Op.int(2) + Op.stackGlobal + Op.stop, "STACK_GLOBAL needs two strings"),
        Case("EXT1", Op.proto() + Op.code(.ext1, [1]) + Op.stop, "refused extension-registry code 1"),
        Case("EXT4", Op.proto() + Op.code(.ext4, [1, 2, 3, 4]) + Op.stop, "refused extension-registry code 67305985"),
        Case("OBJ without a class", Op.proto() + Op.mark + Op.obj + Op.stop, "OBJ without a class"),
        Case("BUILD on a list", Op.proto() + Op.emptyList + Op.emptyDict + Op.build + Op.stop, "BUILD on a list is refused"),
        Case("BUILD on a class", Op.proto() + Op.global("collections", "OrderedDict") + Op.emptyDict + Op.build + Op.stop,
             "BUILD on global collections.OrderedDict is refused"),
        Case("persistent id in a bare pickle", Op.proto() + Op.text(.persId, "0") + Op.stop,
             "persistent id (a tensor storage) in a pickle that has no storages"),
        Case("unknown opcode", Op.proto() + [0xFF], "unknown opcode 0xff"),
        Case("no STOP", Op.proto() + Op.none, "pickle ends while reading an opcode"),
        Case("truncated BININT", Op.proto() + Op.code(.binInt, [1]), "pickle ends inside a 4-byte argument"),
        Case("truncated BINFLOAT", Op.proto() + Op.code(.binFloat, [1, 2]), "pickle ends inside a BINFLOAT"),
        Case("BINUNICODE longer than the file", Op.proto() + Op.code(.binUnicode, Op.le(100) + Array("ab".utf8)), "BINUNICODE claims 100 bytes but only 2 remain"),
        Case("BINBYTES8 of 2^64-1 bytes", Op.proto(4) + Op.code(.binBytes8, Op.le64(.max)), "BINBYTES8 claims 18446744073709551615 bytes"),
        Case("BINSTRING with a negative length", Op.proto() + Op.code(.binString, Op.le(0xFFFF_FFFF)), "BINSTRING with negative length -1"),
        Case("invalid UTF-8", Op.proto() + Op.code(.shortBinUnicode, [2, 0xFF, 0xFE]) + Op.stop, "string is not valid UTF-8"),
        Case("bad \\u escape", Op.text(.unicode, "\\uZZZZ") + Op.stop, "bad \\u escape in UNICODE string"),
        Case("unquoted STRING", Op.text(.string, "abc") + Op.stop, "STRING argument is not quoted"),
        Case("bad \\x escape", Op.text(.string, "'\\xZZ'") + Op.stop, "bad \\x escape in STRING"),
        Case("GLOBAL module not UTF-8", Op.proto() + Op.code(.global, [0xFF, 0x0A, 0x61, 0x0A]) + Op.stop, "text argument of GLOBAL module is not valid UTF-8"),
        Case("GLOBAL without a newline", Op.proto() + Op.code(.global, Array("os".utf8)), "pickle ends inside the text argument of GLOBAL module"),
        Case("REDUCE with nothing above the MARK", Op.proto() + Op.int(1) + Op.mark + Op.reduce + Op.stop,
             "opcode needs a value but the stack (above the last MARK) is empty"),
    ]

    static let callables: [Case] = [
        Case("calling an int", Op.proto() + Op.int(1) + Op.emptyTuple + Op.reduce + Op.stop, "refused to call a int"),
        Case("arguments that are not a tuple", Op.proto() + Op.global("collections", "OrderedDict") + Op.int(1) + Op.reduce + Op.stop,
             "arguments of collections.OrderedDict are int, not a tuple"),
        Case("OrderedDict of non-pairs", Op.proto() + Op.global("collections", "OrderedDict") + Op.mark + Op.mark + Op.int(1) + Op.list + Op.tuple
             + Op.reduce + Op.stop, "collections.OrderedDict argument holds int, not a key-value pair"),
        Case("bytes(int)", Op.proto() + Op.global("builtins", "bytes") + Op.tupleOf(Op.int(1)) + Op.reduce + Op.stop,
             "unsupported builtins.bytes arguments"),
        Case("_codecs.encode(int)", Op.proto() + Op.global("_codecs", "encode") + Op.tupleOf(Op.int(1)) + Op.reduce + Op.stop,
             "_codecs.encode needs a string and an encoding"),
        Case("_codecs.encode outside Latin-1", Op.proto() + Op.global("_codecs", "encode") + Op.tupleOf(Op.string("€"), Op.string("latin1"))
             + Op.reduce + Op.stop, "character outside Latin-1"),
        Case("_codecs.encode rot13", Op.proto() + Op.global("_codecs", "encode") + Op.tupleOf(Op.string("a"), Op.string("rot13"))
             + Op.reduce + Op.stop, "refused _codecs.encode with encoding 'rot13'"),
        Case("_codecs.encode with an int encoding", Op.proto() + Op.global("_codecs", "encode") + Op.tupleOf(Op.string("a"), Op.int(1))
             + Op.reduce + Op.stop, "encoding is not a string"),
        Case("complex storage", Op.proto() + Op.global("torch", "ComplexFloatStorage") + Op.emptyTuple + Op.reduce + Op.stop,
             "torch.ComplexFloatStorage is a torch type weightconv does not read"),
        Case("unknown torch._utils function", Op.proto() + Op.global("torch._utils", "_rebuild_sparse_tensor") + Op.emptyTuple + Op.reduce + Op.stop,
             "torch._utils._rebuild_sparse_tensor is a torch type weightconv does not read"),
        Case("os.system by REDUCE", Op.proto() + Op.global("os", "system") + Op.tupleOf(Op.string("echo")) + Op.reduce + Op.stop,
             "refused to call os.system: it is not on weightconv's allowlist and nothing was executed (the file is hostile"),
        Case("an unknown class by REDUCE", Op.proto() + Op.global("mymodule", "Thing") + Op.emptyTuple + Op.reduce + Op.stop,
             "refused to call mymodule.Thing: it is not on weightconv's allowlist and nothing was executed (if you trust the file"),
        Case("os.system by INST", Op.proto() + Op.mark + Op.string("echo") + Op.code(.inst, Array("os\nsystem\n".utf8)) + Op.stop,
             "refused to call os.system"),
        Case("builtins.eval by OBJ", Op.proto() + Op.mark + Op.global("builtins", "eval") + Op.string("1") + Op.obj + Op.stop,
             "refused to call builtins.eval"),
        Case("subprocess.Popen by NEWOBJ", Op.proto() + Op.global("subprocess", "Popen") + Op.emptyTuple + Op.newObj + Op.stop,
             "refused to instantiate subprocess.Popen"),
        Case("a storage class by NEWOBJ", Op.proto() + Op.global("torch", "FloatStorage") + Op.emptyTuple + Op.newObj + Op.stop,
             "refused to instantiate torch.FloatStorage"),
        Case("NEWOBJ of an int", Op.proto() + Op.int(1) + Op.emptyTuple + Op.newObj + Op.stop, "NEWOBJ on a int, not a class"),
        Case("NEWOBJ_EX of os.system", Op.proto(4) + Op.global("os", "system") + Op.emptyTuple + Op.emptyDict + Op.code(.newObjEx) + Op.stop,
             "refused to instantiate os.system"),
        Case("_rebuild_from_type_v2 of junk", Op.proto() + Op.global("torch._tensor", "_rebuild_from_type_v2") + Op.tupleOf(Op.int(1))
             + Op.reduce + Op.stop, "torch._tensor._rebuild_from_type_v2 with arguments weightconv does not recognise"),
        Case("copyreg._reconstructor of junk", Op.proto() + Op.global("copyreg", "_reconstructor") + Op.tupleOf(Op.int(1)) + Op.reduce + Op.stop,
             "copyreg._reconstructor with arguments weightconv does not recognise"),
        Case("copyreg.__newobj__ without a class", Op.proto() + Op.global("copyreg", "__newobj__") + Op.emptyTuple + Op.reduce + Op.stop,
             "copyreg.__newobj__ without a class"),
        Case("copyreg.__newobj__ of os.system", Op.proto() + Op.global("copy_reg", "__newobj__") + Op.tupleOf(Op.global("os", "system"))
             + Op.reduce + Op.stop, "refused to instantiate os.system"),
        Case("_rebuild_tensor_v2 with one argument", Op.proto() + Op.global("torch._utils", "_rebuild_tensor_v2") + Op.tupleOf(Op.int(1))
             + Op.reduce + Op.stop, "torch._utils._rebuild_tensor_v2 with 1 arguments"),
        Case("_rebuild_tensor_v2 of an int", Op.proto() + Op.global("torch._utils", "_rebuild_tensor_v2")
             + Op.tupleOf(Op.int(1), Op.int(0), Op.emptyTuple, Op.emptyTuple, Op.newFalse, Op.none) + Op.reduce + Op.stop,
             "torch._utils._rebuild_tensor_v2 on a int, not a storage"),
        Case("_rebuild_tensor_v3 with one argument", Op.proto() + Op.global("torch._utils", "_rebuild_tensor_v3") + Op.tupleOf(Op.int(1))
             + Op.reduce + Op.stop, "torch._utils._rebuild_tensor_v3 with 1 arguments"),
        Case("_rebuild_tensor_v3 of an int", Op.proto() + Op.global("torch._utils", "_rebuild_tensor_v3")
             + Op.tupleOf(Op.int(1), Op.int(0), Op.emptyTuple, Op.emptyTuple, Op.newFalse, Op.none, Op.global("torch", "float32"))
             + Op.reduce + Op.stop, "torch._utils._rebuild_tensor_v3 on a int, not a storage"),
        Case("_rebuild_parameter of an int", Op.proto() + Op.global("torch._utils", "_rebuild_parameter")
             + Op.tupleOf(Op.int(1), Op.newFalse, Op.none) + Op.reduce + Op.stop,
             "torch._utils._rebuild_parameter with arguments weightconv does not recognise"),
        Case("os.system kept as a value", Op.proto() + Op.global("os", "system") + Op.stop,
             "refused global os.system in the checkpoint's content"),
        // Globals are checked once per node, not at every visit (a shared one can be reached a
        // million times); a hostile one among shared harmless ones must still be refused.
        Case("os.system after a shared harmless global", Op.proto() + Op.mark + Op.global("collections", "OrderedDict") + Op.binPut(0)
             + Array(repeating: Op.binGet(0), count: 50).joined() + Op.global("os", "system") + Op.list + Op.stop,
             "refused global os.system in the checkpoint's content"),
        Case("posix.system after a harmless global of the same name", Op.proto() + Op.mark + Op.global("collections", "system")
             + Op.global("posix", "system") + Op.list + Op.stop, "refused global posix.system in the checkpoint's content"),
    ]

    @Test(arguments: machine)
    func machineRefusal(_ sample: Case) throws {
        try expectOneLineRefusal(sample, name: "crafted.pkl")
    }

    @Test(arguments: callables)
    func callableRefusal(_ sample: Case) throws {
        try expectOneLineRefusal(sample, name: "crafted.pkl")
    }

    /// The one-line refusal keeps the machine's own error, offset included, for code to match.
    @Test func theRefusalKeepsThePickleError() throws {
        let error = try #require(try checkpointError(Op.proto() + [0xFF], name: "crafted.pkl"))
        let cause = try #require(error.cause(as: PickleError.self), "\(error)")
        #expect(cause.offset == 2)
        #expect(cause.problem == "unknown opcode 0xff")
        #expect(error.problem == "pickle at byte 2: unknown opcode 0xff")
    }
}

/// Writes the bytes as `name` in a scratch folder, opens them with `open`, and checks the refusal:
/// one line, naming the file and the problem.
func expectOneLineRefusal(_ sample: Case, writtenAs name: String, _ open: (String) throws -> Void) throws {
    let folder = try ScratchFolder()
    defer { folder.remove() }
    let path = try folder.write(sample.bytes, name)
    #expect {
        try open(path)
    } throws: { error in
        let message = "\(error)"
        return message.contains(sample.mentions) && message.contains(name) && !message.contains("\n")
    }
}

/// Opens the bytes as a checkpoint file and checks the refusal: one line, naming the file and the problem.
func expectOneLineRefusal(_ sample: Case, name: String, limits: PickleLimits = .standard) throws {
    let error = try checkpointError(sample.bytes, name: name, limits: limits)
    let message = try #require(error, "\(sample.name) was accepted").description
    #expect(message.contains(sample.mentions), "\(sample.name): \(message)")
    #expect(message.contains(name))
    #expect(!message.contains("\n"))
}
