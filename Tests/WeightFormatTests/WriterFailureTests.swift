import Foundation
import Testing
@testable import WeightFormat
import WeightconvCore

/// A source whose tensors come from memory, and which can fail or run code at a chosen tensor.
final class ScriptedStore: TensorStore {
    let path = "scripted.pth"
    let data = sampleTensorData()
    var tensors: [TensorDescriptor] { data.map { TensorDescriptor(name: $0.name, dtype: $0.dtype, shape: $0.shape) } }
    var metadata: MetadataValue { .object([]) }
    var failAt: String?
    var onRead: ((String) -> Void)?

    func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        onRead?(name)
        if name == failAt { throw WeightconvError(file: path, problem: "storage for '\(name)' is missing") }
        guard let entry = data.first(where: { $0.name == name }) else { throw WeightconvError(file: path, problem: "no \(name)") }
        return try entry.bytes.withUnsafeBytes(body)
    }
}

@Suite struct WriterFailureTests {
    private func pending(_ store: ScriptedStore) throws -> [PendingTensor] {
        try store.tensors.map { try PendingTensor.from(store, name: $0.name) }
    }

    @Test func unwritableFolderIsAOneLineError() throws {
        #if os(Linux)
        // Even root cannot create files in sysfs, unlike a chmod 555 folder.
        let folder = "/sys"
        #else
        let scratch = try ScratchFolder()
        defer { scratch.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: scratch.path)
        let folder = scratch.path
        #endif
        #expect {
            try WeightFileWriter().write(try sampleTensors(), document: WeightFileDocument(), to: folder + "/out.wcv")
        } throws: { error in
            let message = "\(error)"
            return message.contains("cannot create a file in '\(folder)'") && !message.contains("\n")
        }
    }

    @Test func refusesToOverwriteItsInputEvenThroughAHardLink() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let input = folder.file("in.wcv")
        let original = try writtenImage(try sampleTensors(), in: folder, name: "in.wcv")
        try FileManager.default.linkItem(atPath: input, toPath: folder.file("link.wcv"))
        let writer = WeightFileWriter(protectedPaths: [input])
        for destination in [input, folder.file("link.wcv"), folder.path + "/../" + URL(fileURLWithPath: folder.path).lastPathComponent + "/in.wcv"] {
            #expect(throws: WeightconvError.self) {
                try writer.write([try .floats("x", shape: [1], [1])], document: WeightFileDocument(), to: destination)
            }
        }
        #expect(try readBytes(input) == original)
        #expect(try folder.listing() == ["in.wcv", "link.wcv"])
    }

    @Test func aFolderIsNotAnOutputFile() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        #expect(throws: WeightconvError.self) {
            try WeightFileWriter().write(try sampleTensors(), document: WeightFileDocument(), to: folder.path)
        }
    }

    @Test func failureMidwayLeavesNoTemporaryFileAndTheOldOutputUntouched() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let destination = folder.file("out.wcv")
        let previous = Array("previous content".utf8)
        try writeBytes(previous, to: destination)
        let store = ScriptedStore()
        store.failAt = "t.i64"
        var sawTemporary = false
        store.onRead = { _ in sawTemporary = sawTemporary || ((try? folder.listing().contains { $0.hasSuffix(".tmp") }) ?? false) }
        #expect(throws: WeightconvError.self) {
            try WeightFileWriter().write(try pending(store), document: WeightFileDocument(), to: destination)
        }
        #expect(sawTemporary, "the write went through a temporary file")
        #expect(try folder.listing() == ["out.wcv"])
        #expect(try readBytes(destination) == previous)
    }

    /// A store that hands out fewer or more bytes than the shape needs (the source is read in
    /// pieces, so a long one is caught at the piece that overflows): a one-line error naming the
    /// source and the tensor, and no file.
    @Test(arguments: [(12, "has 12 bytes, its shape needs 16"), (20, "has more bytes than its shape needs (16)")])
    func aTensorWithTheWrongByteCountFailsTheWrite(count: Int, problem: String) throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        final class WrongSizeStore: TensorStore {
            let path = "short.pth"
            let tensors = [TensorDescriptor(name: "w", dtype: .f32, shape: [4])]
            let metadata = MetadataValue.object([])
            let count: Int
            init(count: Int) { self.count = count }
            func withContiguousBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
                try [UInt8](repeating: 1, count: count).withUnsafeBytes(body)
            }
        }
        let store = WrongSizeStore(count: count)
        let error = #expect(throws: WeightconvError.self) {
            try WeightFileWriter().write([try .from(store, name: "w")], document: WeightFileDocument(), to: folder.file("o.wcv"))
        }
        #expect(error?.file == "short.pth")
        #expect(error?.problem == "tensor 'w' \(problem)")
        #expect(try folder.listing().isEmpty)
    }

    @Test func anInterruptHandlerCanDeleteTheTemporaryFileMidway() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let registry = TemporaryFileRegistry()
        let store = ScriptedStore()
        var activeDuringWrite: [String] = []
        store.onRead = { name in
            // What the CLI's SIGINT handler does, at the moment the signal arrives.
            if name == "t.i32" {
                activeDuringWrite = registry.active
                registry.removeAll()
            }
        }
        #expect(throws: WeightconvError.self) {
            try WeightFileWriter(temporaryFiles: registry).write(try pending(store), document: WeightFileDocument(), to: folder.file("out.wcv"))
        }
        #expect(activeDuringWrite.count == 1)
        #expect(activeDuringWrite.first?.hasSuffix(".tmp") == true)
        #expect(registry.active.isEmpty)
        #expect(try folder.listing().isEmpty)
    }

    @Test func duplicateNamesAndBadReferencesAreRefusedBeforeAnyFileExists() throws {
        let folder = try ScratchFolder()
        defer { folder.remove() }
        let x = try PendingTensor.floats("x", shape: [1], [1])
        #expect(throws: WeightconvError.self) { try WeightFileWriter().write([x, x], document: WeightFileDocument(), to: folder.file("o.wcv")) }
        #expect(throws: WeightconvError.self) {
            try WeightFileWriter().write([x], document: WeightFileDocument(originalKeys: ["y": "model.y"]), to: folder.file("o.wcv"))
        }
        #expect(throws: WeightconvError.self) {
            try WeightFileWriter().write([x], document: WeightFileDocument(verification: .init(atol: 0, rtol: 0, topK: 1)), to: folder.file("o.wcv"))
        }
        #expect(try folder.listing().isEmpty)
    }
}
