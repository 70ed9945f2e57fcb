import Testing
@testable import WeightconvKit

@Suite struct RenameRuleTests {
    @Test func capturesAndTablesExpand() throws {
        let rule = try RenameRule(#"^blocks\.(\d+)\.(\d+)\.conv_pw\."#, "features.{stage[$1]+$2}.conv.0.0.")
        let tables = ["stage": [1, 2, 4, 7]]
        #expect(try rule.apply(to: "blocks.2.1.conv_pw.weight", tables: tables) == "features.5.conv.0.0.weight")
        #expect(try rule.apply(to: "blocks.2.1.conv_dw.weight", tables: tables) == nil)
    }

    @Test func indexPastTableIsAnErrorNotACrash() throws {
        let rule = try RenameRule(#"^blocks\.(\d+)\.(\d+)\."#, "features.{stage[$1]+$2}.")
        #expect(throws: LayoutError.indexOutOfTable(key: "blocks.9.0.x", table: "stage", count: 2)) {
            try rule.apply(to: "blocks.9.0.x", tables: ["stage": [1, 2]])
        }
    }

    @Test func hugeIndexInAKeyIsAnErrorNotAnOverflowTrap() throws {
        let rule = try RenameRule(#"^blocks\.(\d+)\.(\d+)\."#, "features.{stage[$1]+$2}.")
        let key = "blocks.1.9223372036854775807.x"
        #expect(throws: LayoutError.indexOutOfTable(key: key, table: "stage", count: 2)) {
            try rule.apply(to: key, tables: ["stage": [1, 2]])
        }
    }

    @Test func rulesApplyInOrder() throws {
        // An anchored top-level rule must not touch a nested key of the same leaf name.
        let profile = try #require(LayoutProfile.named("mobilenet_v2/timm"))
        #expect(try profile.canonicalName(for: "bn2.running_var") == "features.18.1.running_var")
        #expect(try profile.canonicalName(for: "blocks.1.0.bn2.running_var") == "features.2.conv.1.1.running_var")
        #expect(try profile.canonicalName(for: "blocks.0.0.conv_pw.weight") == "features.1.conv.1.weight")
    }

    @Test func badPatternIsAnErrorNamingIt() {
        #expect(throws: LayoutError.self) { try RenameRule(#"^blocks\.(\d+"#, "x") }
        #expect(throws: LayoutError.unknownTable("stages", template: "features.{stages[$1]}.")) {
            try RenameRule(#"^blocks\.(\d+)\."#, "features.{stages[$1]}.", tables: ["stage": [1]])
        }
    }

    @Test func wrapperPrefixesAreFound() {
        let keys = ["state_dict.module.features.0.0.weight", "optimizer.state.0.momentum_buffer", "epoch"]
        #expect(LayoutRecognizer.candidatePrefixes(keys) == ["state_dict.module.", "state_dict.", ""])
    }
}
