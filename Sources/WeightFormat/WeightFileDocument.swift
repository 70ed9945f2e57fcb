import WeightconvCore

/// The JSON part of a `.wcv` header: everything about the tensors that is not their bytes
/// (docs/wcv-format.md, section 5).
public struct WeightFileDocument: Sendable, Equatable {
    /// The network family and its full configuration, so loading needs no flags.
    public struct Architecture: Sendable, Equatable {
        /// The family's name as the file holds it (`mobilenet_v2`). The format sits below the networks,
        /// so this stays text; the runtime reads it into `NetworkFamily` once, when it builds the
        /// network, and refuses a name it does not know there.
        public var family: String
        /// Keys defined by the family (depth, widths, groups, classes…); always an `.object`.
        public var config: MetadataValue

        package init(family: String, config: MetadataValue = .object([])) {
            self.family = family
            self.config = config
        }
    }

    /// What an input image must become before the network sees it: the one preprocessing record,
    /// stored in a `.wcv` header, read from layout files (WeightconvKit's `PreprocessingMember` is
    /// their spelling of it) and carried out by `ImagePreprocessing`.
    public struct Preprocessing: Sendable, Equatable {
        public var inputSize: [Int]  // [C, H, W]
        public var mean: [Double]
        public var std: [Double]
        public var channelOrder: ChannelOrder
        /// Pixels are divided by this before `mean` and `std` apply: 255 for 0–1 inputs, 1 for 0–255.
        public var pixelScale: Double
        /// The resampling filter of the resize (`bilinear`, `bicubic`).
        public var interpolation: String?
        /// Input side over resized shorter side (timm's `crop_pct`), where the source states one.
        public var cropRatio: Double?
        /// The shorter side is resized to this before the centre crop to `inputSize`; nil: no resize.
        public var resizeSize: Int?
        /// Whose resize: `torchvision` (`transforms.Resize` on a PIL image: Pillow's resampling, the
        /// longer side floored) or `opencv` (Megvii's `OpencvResize`: `cv2.resize`, the longer side rounded).
        public var resizeMethod: String?

        package init(inputSize: [Int], mean: [Double], std: [Double], channelOrder: ChannelOrder = .rgb, pixelScale: Double = 255,
                    interpolation: String? = nil, cropRatio: Double? = nil, resizeSize: Int? = nil, resizeMethod: String? = nil) {
            self.inputSize = inputSize
            self.mean = mean
            self.std = std
            self.channelOrder = channelOrder
            self.pixelScale = pixelScale
            self.interpolation = interpolation
            self.cropRatio = cropRatio
            self.resizeSize = resizeSize
            self.resizeMethod = resizeMethod
        }
    }

    /// Where the weights came from; no dates or host names, so the file stays reproducible.
    public struct Provenance: Sendable, Equatable {
        public var sourceName: String
        public var sourceSize: Int
        public var sourceSHA256: String
        public var converter: String
        public var transforms: [String]

        package init(sourceName: String, sourceSize: Int, sourceSHA256: String, converter: String, transforms: [String]) {
            self.sourceName = sourceName
            self.sourceSize = sourceSize
            self.sourceSHA256 = sourceSHA256
            self.converter = converter
            self.transforms = transforms
        }
    }

    /// A reference input and the logits PyTorch computed from it, stored as F32 tensors in the file.
    public struct VerificationRecord: Sendable, Equatable {
        public var inputTensor: String
        public var logitsTensor: String
        public var atol: Double
        public var rtol: Double
        public var topK: Int
        /// How atol and rtol combine (section 5.6): `"sample_scale"`, or nil in files written before the
        /// member existed, which used the element-wise rule.
        public var rule: String?

        package init(inputTensor: String = WCVFormat.verifyInputName, logitsTensor: String = WCVFormat.verifyLogitsName,
                    atol: Double, rtol: Double, topK: Int, rule: String? = nil) {
            self.inputTensor = inputTensor
            self.logitsTensor = logitsTensor
            self.atol = atol
            self.rtol = rtol
            self.topK = topK
            self.rule = rule
        }
    }

    public var architecture: Architecture?
    public var preprocessing: Preprocessing?
    /// The name layout the weights came from (`torchvision`, `timm`, …).
    public var layout: String?
    /// Stored name → the key the tensor had in the source. Written in table order.
    public var originalKeys: [String: String]
    public var provenance: Provenance?
    /// Free-form user metadata; always an `.object`.
    public var metadata: MetadataValue
    public var verification: VerificationRecord?
    /// The class names of the network's outputs, in class-index order (section 5.7).
    public var labels: [String]?

    package init(architecture: Architecture? = nil, preprocessing: Preprocessing? = nil, layout: String? = nil,
                originalKeys: [String: String] = [:], provenance: Provenance? = nil,
                metadata: MetadataValue = .object([]), verification: VerificationRecord? = nil, labels: [String]? = nil) {
        self.architecture = architecture
        self.preprocessing = preprocessing
        self.layout = layout
        self.originalKeys = originalKeys
        self.provenance = provenance
        self.metadata = metadata
        self.verification = verification
        self.labels = labels
    }
}

// MARK: - Canonical encoding

extension WeightFileDocument {
    /// The document as canonical JSON (section 8): fixed member order, `original_keys` in table order.
    package func canonicalJSON(tableOrder: [String]) -> [UInt8] {
        func number(_ value: Double) -> MetadataValue { .double(value) }
        func optional(_ value: String?) -> MetadataValue { value.map(MetadataValue.string) ?? .null }

        let architectureValue: MetadataValue = architecture.map {
            .object([("family", .string($0.family)), ("config", $0.config)])
        } ?? .null
        let preprocessingValue: MetadataValue = preprocessing.map {
            .object([
                ("input_size", .array($0.inputSize.map(MetadataValue.int))),
                ("mean", .array($0.mean.map(number))),
                ("std", .array($0.std.map(number))),
                ("channel_order", .string($0.channelOrder.rawValue)),
                ("pixel_scale", number($0.pixelScale)),
                ("interpolation", optional($0.interpolation)),
                ("crop_ratio", $0.cropRatio.map(number) ?? .null),
                ("resize_size", $0.resizeSize.map(MetadataValue.int) ?? .null),
                ("resize_method", optional($0.resizeMethod)),
            ])
        } ?? .null
        let keysValue = MetadataValue.object(tableOrder.compactMap { name in
            originalKeys[name].map { (name, MetadataValue.string($0)) }
        })
        let provenanceValue: MetadataValue = provenance.map {
            .object([
                ("source_name", .string($0.sourceName)),
                ("source_size", .int($0.sourceSize)),
                ("source_sha256", .string($0.sourceSHA256)),
                ("converter", .string($0.converter)),
                ("transforms", .array($0.transforms.map(MetadataValue.string))),
            ])
        } ?? .null
        let verificationValue: MetadataValue = verification.map {
            .object([
                ("input", .string($0.inputTensor)),
                ("logits", .string($0.logitsTensor)),
                ("atol", number($0.atol)),
                ("rtol", number($0.rtol)),
                ("top_k", .int($0.topK)),
            ] + ($0.rule.map { [("rule", MetadataValue.string($0))] } ?? []))
        } ?? .null
        var members: [(String, MetadataValue)] = [
            ("architecture", architectureValue),
            ("preprocessing", preprocessingValue),
            ("layout", optional(layout)),
            ("original_keys", keysValue),
            ("provenance", provenanceValue),
            ("metadata", metadata),
            ("verification", verificationValue),
        ]
        // Written only when known, so files without class names keep the bytes they had before
        // the member existed (section 5.7).
        if let labels { members.append(("labels", .array(labels.map(MetadataValue.string)))) }
        let document = MetadataValue.object(members)
        return Array(document.jsonText.utf8)
    }
}

// MARK: - Decoding with schema checks

/// A member of the document that has the wrong type or refers to something that is not there.
struct SchemaProblem: Error {
    var message: String
}

extension WeightFileDocument {
    /// Reads the defined members of a parsed document; unknown members are ignored (section 3).
    init(parsing value: MetadataValue) throws(SchemaProblem) {
        guard case .object(let members) = value else { throw SchemaProblem(message: "the JSON document is not an object") }
        func member(_ object: [(key: String, value: MetadataValue)], _ key: String) -> MetadataValue {
            object.first { $0.key == key }?.value ?? .null
        }
        func object(_ value: MetadataValue, _ path: String) throws(SchemaProblem) -> [(key: String, value: MetadataValue)]? {
            switch value {
            case .null: return nil
            case .object(let members): return members
            default: throw SchemaProblem(message: "'\(path)' must be an object or null")
            }
        }
        func string(_ value: MetadataValue, _ path: String) throws(SchemaProblem) -> String? {
            switch value {
            case .null: return nil
            case .string(let text): return text
            default: throw SchemaProblem(message: "'\(path)' must be a string or null")
            }
        }
        func requiredString(_ value: MetadataValue, _ path: String) throws(SchemaProblem) -> String {
            guard case .string(let text) = value else { throw SchemaProblem(message: "'\(path)' must be a string") }
            return text
        }
        func double(_ value: MetadataValue, _ path: String) throws(SchemaProblem) -> Double? {
            switch value {
            case .null: return nil
            case .int(let number): return Double(number)
            case .double(let number): return number
            default: throw SchemaProblem(message: "'\(path)' must be a number or null")
            }
        }
        func requiredDouble(_ value: MetadataValue, _ path: String) throws(SchemaProblem) -> Double {
            guard let number = try double(value, path) else { throw SchemaProblem(message: "'\(path)' must be a number") }
            return number
        }
        func requiredInt(_ value: MetadataValue, _ path: String) throws(SchemaProblem) -> Int {
            guard case .int(let number) = value else { throw SchemaProblem(message: "'\(path)' must be an integer") }
            return number
        }
        func array(_ value: MetadataValue, _ path: String) throws(SchemaProblem) -> [MetadataValue] {
            guard case .array(let elements) = value else { throw SchemaProblem(message: "'\(path)' must be an array") }
            return elements
        }

        if let fields = try object(member(members, "architecture"), "architecture") {
            let config = member(fields, "config")
            guard case .object = config else { throw SchemaProblem(message: "'architecture.config' must be an object") }
            architecture = Architecture(family: try requiredString(member(fields, "family"), "architecture.family"), config: config)
        }
        if let fields = try object(member(members, "preprocessing"), "preprocessing") {
            var inputSize: [Int] = []
            for element in try array(member(fields, "input_size"), "preprocessing.input_size") {
                inputSize.append(try requiredInt(element, "preprocessing.input_size"))
            }
            var mean: [Double] = [], std: [Double] = []
            for element in try array(member(fields, "mean"), "preprocessing.mean") { mean.append(try requiredDouble(element, "preprocessing.mean")) }
            for element in try array(member(fields, "std"), "preprocessing.std") { std.append(try requiredDouble(element, "preprocessing.std")) }
            let channelOrderName = try string(member(fields, "channel_order"), "preprocessing.channel_order") ?? "RGB"
            guard let channelOrder = ChannelOrder(rawValue: channelOrderName) else {
                throw SchemaProblem(message: "'preprocessing.channel_order' must be \"RGB\" or \"BGR\"")
            }
            let pixelScale = try double(member(fields, "pixel_scale"), "preprocessing.pixel_scale") ?? 255
            guard pixelScale > 0, pixelScale.isFinite else {
                throw SchemaProblem(message: "'preprocessing.pixel_scale' must be a positive number")
            }
            var resizeSize: Int?
            if member(fields, "resize_size") != .null {
                let size = try requiredInt(member(fields, "resize_size"), "preprocessing.resize_size")
                guard size > 0 else { throw SchemaProblem(message: "'preprocessing.resize_size' must be a positive integer") }
                resizeSize = size
            }
            let resizeMethod = try string(member(fields, "resize_method"), "preprocessing.resize_method")
            guard resizeMethod == nil || resizeMethod == "torchvision" || resizeMethod == "opencv" else {
                throw SchemaProblem(message: "'preprocessing.resize_method' must be \"torchvision\", \"opencv\" or null")
            }
            preprocessing = Preprocessing(inputSize: inputSize, mean: mean, std: std, channelOrder: channelOrder,
                                          pixelScale: pixelScale,
                                          interpolation: try string(member(fields, "interpolation"), "preprocessing.interpolation"),
                                          cropRatio: try double(member(fields, "crop_ratio"), "preprocessing.crop_ratio"),
                                          resizeSize: resizeSize, resizeMethod: resizeMethod)
        }
        layout = try string(member(members, "layout"), "layout")
        originalKeys = [:]
        for (name, key) in try object(member(members, "original_keys"), "original_keys") ?? [] {
            originalKeys[name] = try requiredString(key, "original_keys.\(name)")
        }
        if let fields = try object(member(members, "provenance"), "provenance") {
            var transforms: [String] = []
            for element in try array(member(fields, "transforms"), "provenance.transforms") {
                transforms.append(try requiredString(element, "provenance.transforms"))
            }
            provenance = Provenance(sourceName: try requiredString(member(fields, "source_name"), "provenance.source_name"),
                                    sourceSize: try requiredInt(member(fields, "source_size"), "provenance.source_size"),
                                    sourceSHA256: try requiredString(member(fields, "source_sha256"), "provenance.source_sha256"),
                                    converter: try requiredString(member(fields, "converter"), "provenance.converter"),
                                    transforms: transforms)
        }
        switch member(members, "metadata") {
        case .null: metadata = .object([])
        case .object(let fields): metadata = .object(fields.map { ($0.key, Self.restoringOpaque($0.value)) })
        default: throw SchemaProblem(message: "'metadata' must be an object")
        }
        if let fields = try object(member(members, "verification"), "verification") {
            verification = VerificationRecord(inputTensor: try requiredString(member(fields, "input"), "verification.input"),
                                              logitsTensor: try requiredString(member(fields, "logits"), "verification.logits"),
                                              atol: try requiredDouble(member(fields, "atol"), "verification.atol"),
                                              rtol: try requiredDouble(member(fields, "rtol"), "verification.rtol"),
                                              topK: try requiredInt(member(fields, "top_k"), "verification.top_k"),
                                              rule: try string(member(fields, "rule"), "verification.rule"))
        }
        if member(members, "labels") != .null {
            labels = try array(member(members, "labels"), "labels").map { element throws(SchemaProblem) in
                try requiredString(element, "labels")
            }
        }
    }

    /// `{"$opaque": type, "summary": text}` is how `MetadataValue.opaque` is written (section 5.5).
    static func restoringOpaque(_ value: MetadataValue) -> MetadataValue {
        switch value {
        case .object(let fields):
            if fields.count == 2, fields[0].key == "$opaque", fields[1].key == "summary",
               case .string(let type) = fields[0].value, case .string(let summary) = fields[1].value {
                return .opaque(typeName: type, summary: summary)
            }
            return .object(fields.map { ($0.key, restoringOpaque($0.value)) })
        case .array(let elements): return .array(elements.map(restoringOpaque))
        default: return value
        }
    }
}
