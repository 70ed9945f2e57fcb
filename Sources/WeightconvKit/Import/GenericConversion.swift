import WeightconvCore
import WeightFormat

/// `weightconv import FILE -o OUT` without `--arch`: every tensor of any checkpoint under its own name,
/// so the native format serves networks weightconv does not model.
public enum GenericConversion {
    public static func run(input: String, output: String, dtype: DType?,
                           temporaryFiles: TemporaryFileRegistry? = nil) throws -> WeightFileWriter.Summary {
        let store = try openTensorStore(path: input)
        let tensors = try store.tensors.map { descriptor in
            try PendingTensor.from(store, name: descriptor.name, dtype: descriptor.dtype.isFloatingPoint ? dtype : nil)
        }
        var transforms: [String] = []
        if let dtype { transforms.append("stored floating-point tensors as \(dtype.rawValue)") }
        let document = WeightFileDocument(
            originalKeys: Dictionary(uniqueKeysWithValues: store.tensors.map { ($0.name, $0.name) }),
            provenance: try .of(input, converter: Importer.converterVersion, transforms: transforms))
        let writer = WeightFileWriter(protectedPaths: [input], temporaryFiles: temporaryFiles)
        return try writer.write(tensors, document: document, to: output)
    }
}
