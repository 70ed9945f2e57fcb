import Testing
@testable import WeightconvKit

@Suite struct InputPreparationTests {
    // One 2x1 image: pixel 0 = (10, 20, 30), pixel 1 = (200, 100, 0).
    let pixels: [UInt8] = [10, 20, 30, 200, 100, 0]

    @Test func imageNetNormalisation() throws {
        // torchvision: ToTensor() (x / 255) then Normalize(mean, std).
        let p = WeightFileDocument.Preprocessing(inputSize: [3, 224, 224], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        let x = try p.input(rgb: pixels, width: 2, height: 1)
        #expect(x.shape == [1, 3, 1, 2])
        let expected: [Float] = [(10 / 255 - 0.485) / 0.229, (200 / 255 - 0.485) / 0.229,
                                 (20 / 255 - 0.456) / 0.224, (100 / 255 - 0.456) / 0.224,
                                 (30 / 255 - 0.406) / 0.225, (0 / 255 - 0.406) / 0.225]
        for (a, b) in zip(x.storage, expected) { #expect(abs(a - b) < 1e-6) }
    }

    @Test func megviiTakesBGRIn0To255() throws {
        let p = WeightFileDocument.Preprocessing(inputSize: [3, 224, 224], mean: [0, 0, 0], std: [1, 1, 1],
                                                 channelOrder: .bgr, pixelScale: 1)
        let x = try p.input(rgb: pixels, width: 2, height: 1)
        #expect(x.storage == [30, 0, 20, 100, 10, 200])
    }

    @Test func aWrongByteCountIsAnError() {
        let p = WeightFileDocument.Preprocessing(inputSize: [3, 224, 224], mean: [0, 0, 0], std: [1, 1, 1])
        #expect(throws: WeightconvError.self) { try p.input(rgb: pixels, width: 3, height: 1) }
    }
}
