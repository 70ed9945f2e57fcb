/// The order of an input image's colour planes: `RGB`, or `BGR` for implementations trained on
/// OpenCV-decoded images (Megvii's ShuffleNet). One type for the `.wcv` record, the layout files and
/// the image pipeline; its raw value is how the files spell it.
public enum ChannelOrder: String, Sendable, Hashable, Codable, CaseIterable {
    case rgb = "RGB"
    case bgr = "BGR"
}
