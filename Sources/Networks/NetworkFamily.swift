/// The four network families weightconv models; the raw value is the name files and the command line use.
public enum NetworkFamily: String, Sendable, CaseIterable, Codable {
    case xception
    case mobileNetV2 = "mobilenet_v2"
    case shuffleNetV1 = "shufflenet_v1"
    case resnext
}
