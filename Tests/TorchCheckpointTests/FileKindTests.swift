import Foundation
import Testing
import TorchCheckpoint
import WeightconvCore

/// Files are named for what they are before any parser runs (fixtures from
/// tools/make_checkpoint_fixtures.py and the picklescan corpus copy).
@Suite struct FileKindTests {
    @Test(arguments: [
        ("checkpoints/dtypes.pt", FileKind.torchZipCheckpoint), ("checkpoints/dtypes_legacy.pt", .legacyCheckpoint),
        ("checkpoints/legacy_protocol1.pt", .legacyCheckpoint), ("checkpoints/legacy_protocol4.pt", .legacyCheckpoint),
        ("checkpoints/plain_protocol0.pkl", .pickle), ("checkpoints/arrays.npz", .numpyArchive),
        ("checkpoints/renamed_folder.pt", .torchZipCheckpoint), ("hostile/torchscript.pt", .torchScriptArchive),
        ("hostile/lfs_pointer.pt", .gitLFSPointer), ("hostile/error_page.pth", .html), ("hostile/gzipped.pt.gz", .gzip),
        ("hostile/weights.safetensors", .safetensors), ("hostile/empty.pt", .empty),
        ("hostile/picklescan/data/malicious1.7z", .sevenZip), ("hostile/picklescan/data2/int_array.npy", .numpyArray),
        ("hostile/picklescan/data/bad_pytorch.pt", .unknown), ("hostile/picklescan/data/malicious1.zip", .zipArchive),
    ])
    func kindIsSniffed(_ name: String, _ kind: FileKind) throws {
        #expect(try Checkpoint.detectKind(path: fixturesRoot.appendingPathComponent(name).path) == kind)
    }

    @Test func nativeWeightFileMagicIsRecognised() {
        // The .wcv magic fixed in the common brief: 89 57 43 56 0D 0A 1A 0A.
        #expect(FileKind.sniff([0x89, 0x57, 0x43, 0x56, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0]) == .wcv)
    }

    @Test func missingFileIsOneLine() {
        let path = fixturesRoot.appendingPathComponent("no-such-file.pt").path
        #expect {
            _ = try Checkpoint.open(path: path)
        } throws: { error in
            let text = (error as? WeightconvError)?.description ?? ""
            return text.hasPrefix(path + ": cannot open") && !text.contains("\n")
        }
    }

    @Test func directoryIsRefused() {
        #expect(throws: WeightconvError.self) { _ = try Checkpoint.open(path: fixturesRoot.path) }
    }
}
