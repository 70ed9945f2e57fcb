import ImagePipeline
import Testing
import WeightconvCore

struct ClassLabelTests {
    @Test func linesAndJSONListsGiveTheSameNames() throws {
        #expect(try ClassLabels.parse("cat\ndog\r\nbird\n\n", file: "l.txt") == ["cat", "dog", "bird"])
        #expect(try ClassLabels.parse("[\"cat\", \"dog\", \"bird\"]", file: "l.json") == ["cat", "dog", "bird"])
    }

    @Test func emptyNamesAndBadJSONAreRefused() {
        #expect(throws: WeightconvError.self) { try ClassLabels.parse("", file: "l.txt") }
        #expect(throws: WeightconvError.self) { try ClassLabels.parse("cat\n\ndog", file: "l.txt") }
        #expect(throws: WeightconvError.self) { try ClassLabels.parse("[1, 2]", file: "l.json") }
        #expect(throws: WeightconvError.self) { try ClassLabels.read(contentsOf: "/nonexistent/labels.txt") }
    }

    @Test func imageNetNamesAreTorchvisionsThousand() {
        #expect(ClassLabels.imageNet1k.count == 1000)
        #expect(ClassLabels.imageNet1k.first == "tench")
        #expect(ClassLabels.imageNet1k.last == "toilet tissue")
    }
}
