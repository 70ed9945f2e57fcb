import Networks
import WeightconvCore

extension LayoutProfile {
    /// The profile's behaviour in the vocabulary of the family's configuration.
    ///
    /// Profiles describe behaviour in the terms the implementations' sources use (and the fixture
    /// script checks): `bn_eps`, `stride_on`, `shuffle_order`… The configurations have their own names;
    /// this is the one place the two meet, so an unknown key or value is an error here rather than a
    /// behaviour silently left at its default.
    public func configurationBehaviour() throws(LayoutError) -> [String: BehaviourValue] {
        var result: [String: BehaviourValue] = [:]
        for (key, value) in behaviour.sorted(by: { $0.key < $1.key }) {
            switch (key, value) {
            case ("bn_eps", .double(let eps)):
                result["eps"] = .number(eps)
            case ("stride_on", .string(let layer)) where layer == "conv1" || layer == "conv2":
                result["stridePlacement"] = .string(layer)
            case ("stem_bias", .bool):
                // Read from the keys themselves (`conv1.bias` exists or not).
                continue
            case ("stem_relu", .bool(let relu)):
                result["stemActivation"] = .string(relu ? "relu" : "identity")
            case ("shuffle_placement", .string("after_compress")):
                result["shufflePlacement"] = .string("afterCompress")
            case ("shuffle_placement", .string("after_depthwise")):
                result["shufflePlacement"] = .string("afterDepthwise")
            case ("shuffle_order", .string("paper")):
                // `x.view(B, g, C/g, H, W).transpose(1, 2)`.
                result["shufflePermutation"] = .string("groupsFirst")
            case ("shuffle_order", .string("megvii")):
                // `x.reshape(B, C/g, g, H, W)` split into two halves: the inverse permutation.
                result["shufflePermutation"] = .string("groupsLast")
            case ("shuffle_first_unit", .bool(let shuffles)):
                result["shuffleAfterUngroupedCompress"] = .bool(shuffles)
            case ("concat_relu", .string("both")):
                result["concatActivation"] = .string("all")
            case ("concat_relu", .string("main")):
                result["concatActivation"] = .string("mainBranch")
            case ("output", .string(let output)) where output == "softmax" || output == "logits":
                result["outputSoftmax"] = .bool(output == "softmax")
            default:
                throw LayoutError.unknownBehaviour(profile: "\(family.rawValue)/\(name)", key: key, value: value.jsonText)
            }
        }
        return result
    }
}
