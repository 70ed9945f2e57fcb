/// The four network families weightconv models; the raw value is the name files and the command line use.
///
/// Files name a family as text (a `.wcv` header's `architecture.family`, a layout file's `family`);
/// that text is read into this type once, where the file is read, and travels typed from there on.
public enum NetworkFamily: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case xception
    case mobileNetV2 = "mobilenet_v2"
    case shuffleNetV1 = "shufflenet_v1"
    case resnext

    /// The name files and the command line use (`mobilenet_v2`), so messages read as the user writes it.
    public var description: String { rawValue }

    /// Every family's name, comma-separated: what an error about an unknown name lists.
    package static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
