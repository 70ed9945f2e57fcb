import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Bad days for `weightconv import` (a generic conversion of a 48 MiB safetensors file, run as a
/// child process): an unwritable output folder, a full disk, an input that is not a file or that
/// shrinks mid-read, SIGINT and SIGTERM. Each must end with one clear stderr line and a non-zero
/// exit status, leave no temporary file, and leave an existing output byte-for-byte as it was.
@Suite(.serialized) struct FaultInjectionTests {
    static let previous = Array("the previous output, which no failed import may touch\n".utf8)

    /// Sets up a workspace with the existing output, runs `body`, then checks the promises shared by
    /// every fault: no temporary file left, the old output unchanged.
    func withWorkspace(_ body: (ScratchFolder, String) throws -> Void) throws {
        let workspace = try ScratchFolder(prefix: "fault")
        defer { workspace.remove() }
        let output = workspace.file("out.wcv")
        try writeBytes(Self.previous, to: output)
        try body(workspace, output)
        #expect(workspace.temporaries.isEmpty, "left behind: \(workspace.temporaries)")
        #expect(try readBytes(output) == Self.previous, "the existing output changed")
    }

    func expectOneLine(_ outcome: CLIResult, status: Int32 = 1, containing phrase: String) {
        #expect(!outcome.killedBySignal, "killed by signal \(outcome.status): \(outcome.stderr)")
        #expect(outcome.status == status, "exit \(outcome.status): \(outcome.stderr)")
        #expect(outcome.stderrLines.count == 1, "stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains(phrase), "stderr: \(outcome.stderr)")
    }

    @Test func theInputConvertsWhenNothingGoesWrong() throws {
        // The baseline the faults below break: the same command succeeds and replaces the output.
        let input = try sharedBigInput.get()
        let workspace = try ScratchFolder(prefix: "fault")
        defer { workspace.remove() }
        let output = workspace.file("out.wcv")
        let outcome = try Child.run(["import", input, "-o", output])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(try FileManager.default.attributesOfItem(atPath: output)[.size] as? Int ?? 0 > 48 << 20)
        #expect(workspace.temporaries.isEmpty)
    }

    @Test func readOnlyOutputFolder() throws {
        let input = try sharedBigInput.get()
        try withWorkspace { workspace, output in
            let outcome: CLIResult
            if getuid() == 0 {
                // Root writes anywhere; an unprivileged child (nobody) cannot write in root's 0755 folder.
                outcome = try Child.run(["import", input, "-o", output],
                                        launcher: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            } else {
                #expect(chmod(workspace.path, 0o555) == 0)
                outcome = try Child.run(["import", input, "-o", output])
            }
            expectOneLine(outcome, containing: "cannot create a file in '\(workspace.path)'")
            #expect(outcome.stderr.contains("Permission denied"), "\(outcome.stderr)")
        }
    }

    @Test func fullDisk() throws {
        // RLIMIT_FSIZE of 1 MiB: the kernel refuses to grow the temporary file past it, exactly as a
        // full disk refuses (EFBIG instead of ENOSPC), and would kill the process with SIGXFSZ if the
        // binary did not ignore it.
        let input = try sharedBigInput.get()
        try withWorkspace { _, output in
            let outcome = try Child.run(["import", input, "-o", output], launcher: ["/usr/bin/prlimit", "--fsize=1048576", "--"])
            expectOneLine(outcome, containing: "File too large")
            #expect(outcome.stderr.contains(output), "\(outcome.stderr)")
        }
    }

    @Test func inputThatIsAPipe() throws {
        // A FIFO whose writer sends the first kilobyte of a checkpoint and goes away: the reader must
        // refuse it by kind (it maps files), not wait for more or read a partial stream.
        signal(SIGPIPE, SIG_IGN)
        let input = try sharedBigInput.get()
        try withWorkspace { workspace, output in
            let fifo = workspace.file("input.safetensors")
            #expect(mkfifo(fifo, 0o644) == 0)
            let head = Array(try readBytes(input).prefix(1024))
            let writer = Thread {
                // Non-blocking open succeeds only once the reader has the FIFO open; retry until then.
                let deadline = Date().addingTimeInterval(30)
                var fd: Int32 = -1
                while fd < 0 && Date() < deadline {
                    fd = open(fifo, O_WRONLY | O_NONBLOCK)
                    if fd < 0 { usleep(1_000) }
                }
                guard fd >= 0 else { return }
                _ = head.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                close(fd)
            }
            writer.start()
            let outcome = try Child.run(["import", fifo, "-o", output])
            expectOneLine(outcome, containing: "not a regular file")
            #expect(outcome.stderr.contains(fifo), "\(outcome.stderr)")
        }
    }

    @Test func inputTruncatedWhileItIsRead() throws {
        // Stopped as soon as its temporary output exists (the input is being streamed from its
        // mapping), the child gets its input truncated to 1000 bytes and is resumed: its next read
        // of a lost page is a bus error, which must end in the one-line report, not a crash dump.
        let shared = try sharedBigInput.get()
        try withWorkspace { workspace, output in
            let input = workspace.file("shrinking.safetensors")
            try FileManager.default.copyItem(atPath: shared, toPath: input)
            let child = try Child(["import", input, "-o", output])
            try waitForTemporary(in: workspace, child: child)
            kill(child.pid, SIGSTOP)
            #expect(truncate(input, 1000) == 0)
            kill(child.pid, SIGCONT)
            let outcome = try child.finish()
            expectOneLine(outcome, containing: "an input file shrank while it was being read")
        }
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func interrupted(by signalNumber: Int32) throws {
        let input = try sharedBigInput.get()
        try withWorkspace { workspace, output in
            let child = try Child(["import", input, "-o", output])
            try waitForTemporary(in: workspace, child: child)
            kill(child.pid, signalNumber)
            let outcome = try child.finish()
            let name = signalNumber == SIGINT ? "SIGINT" : "SIGTERM"
            expectOneLine(outcome, status: 128 + signalNumber, containing: "interrupted by \(name)")
        }
    }

    /// Polls until the child's temporary output appears (the write has started).
    func waitForTemporary(in workspace: ScratchFolder, child: Child) throws {
        let deadline = Date().addingTimeInterval(60)
        while workspace.temporaries.isEmpty {
            guard child.process.isRunning, Date() < deadline else {
                let outcome = try child.finish()
                Issue.record("the import ended before its output appeared: exit \(outcome.status), \(outcome.stderr)")
                throw TimedOut(arguments: child.arguments)
            }
            usleep(500)
        }
    }
}
