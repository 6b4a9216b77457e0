import Foundation
import LLMKit
import Testing
import TestSupport

extension FaultServerSelfTests {
    /// The `fault-server` executable: flags, the printed URL, several instances side by side, and
    /// the counts written on SIGTERM.
    @Suite struct FaultServerExecutableTests {
        static var executable: URL {
            var dir = Bundle.main.bundleURL
            for _ in 0..<3 {
                let candidate = dir.appendingPathComponent("fault-server")
                if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
            let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return repository.appendingPathComponent(".build/debug/fault-server")
        }

        /// A running instance and the port it printed.
        final class Instance: @unchecked Sendable {
            let process = Process()
            let output = Pipe()
            var port = 0

            init(_ arguments: [String]) throws {
                process.executableURL = FaultServerExecutableTests.executable
                process.arguments = arguments
                process.standardOutput = output
                process.standardError = FileHandle.nullDevice
                try process.run()
                // The first line: "listening on http://127.0.0.1:PORT/v1".
                var line: [UInt8] = []
                while true {
                    let byte = output.fileHandleForReading.readData(ofLength: 1)
                    guard let b = byte.first else { throw RawHTTPError("fault-server exited before listening") }
                    if b == 10 { break }
                    line.append(b)
                }
                let text = String(decoding: line, as: UTF8.self)
                guard text.hasPrefix("listening on http://127.0.0.1:"), text.hasSuffix("/v1"),
                      let port = Int(text.dropFirst("listening on http://127.0.0.1:".count).dropLast(3)) else { throw RawHTTPError("printed '\(text)'") }
                self.port = port
            }

            /// SIGTERM, then the exit status and what it wrote to stdout after the first line.
            func terminate() -> (status: Int32, stdout: String) {
                process.terminate()
                process.waitUntilExit()
                let rest = output.fileHandleForReading.readDataToEndOfFile()
                return (process.terminationStatus, String(decoding: rest, as: UTF8.self))
            }
        }

        static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            let out = Pipe(), err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
        }

        @Test func helpExplainsEveryFlagAndBadFlagsAreRefused() async throws {
            try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "build it: swift build --build-tests")
            let help = try await Loopback.offPool { try Self.run(["--help"]) }
            #expect(help.status == 0)
            let flags = ["--port", "--seed", "--latency", "--counts", "--log-bodies", "--mix", "--slow-delay", "--retry-after", "--endless-max-bytes",
                         "--endless-max-seconds", "--chunk-chars", "--chunk-delay", "--rpm", "--tpm", "--limit-window", "--default-max-tokens",
                         "--tokens-per-message", "--legacy-limits", "--batch-phase-delays", "--batch-faults", "--batch-max-lines", "--batch-max-bytes",
                         "--expired-lines-in-error-file", "--help"]
            for flag in flags { #expect(help.stdout.contains(flag), "\(flag)") }
            for fault in FaultServer.Fault.allCases where fault != .none { #expect(help.stdout.contains(fault.rawValue), "\(fault)") }
            for bad in [["--bogus"], ["--rpm", "many"], ["--limit-window", "hour"], ["--batch-faults", "explode=1"], ["--batch-phase-delays", "1,2"],
                        ["--mix", "500=2"], ["--port"]] {
                let result = try await Loopback.offPool { try Self.run(bad) }
                #expect(result.status == 2 && result.stderr.contains("fault-server:"), "\(bad)")
            }
        }

        @Test func instancesRunSideBySideAndWriteTheirCountsOnSIGTERM() async throws {
            try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "build it: swift build --build-tests")
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fault-server-exe-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let countsPath = dir.appendingPathComponent("counts.json").path
            let (limited, plain) = try await Loopback.offPool {
                (try Instance(["--rpm", "60", "--limit-window", "second", "--batch-phase-delays", "0,0,0", "--counts", countsPath, "--seed", "3"]),
                 try Instance(["--mix", "auth=1"]))
            }
            #expect(limited.port != plain.port)
            let (ok, refused, unauthorized) = try await Loopback.offPool {
                (try Loopback.postJSON(limited.port, "/v1/chat/completions", Loopback.chatBody()),
                 try Loopback.postJSON(limited.port, "/v1/chat/completions", Loopback.chatBody()),
                 try Loopback.postJSON(plain.port, "/v1/chat/completions", Loopback.chatBody()))
            }
            #expect(ok.status == 200 && ok.header("x-ratelimit-limit-requests") == "60" && ok.header("x-ratelimit-remaining-requests") == "0")
            #expect(refused.status == 429 && refused.header("retry-after-ms") != nil, "60 RPM per second: one request a second")
            #expect(unauthorized.status == 401)

            // A batch through the executable, with no phase delays.
            let (type, upload) = Loopback.multipart(purpose: "batch", file: Array((FaultServerBatchTests.line("only") + "\n").utf8))
            let fileID = try await Loopback.offPool {
                try Loopback.request(limited.port, "POST", "/v1/files", headers: [("Content-Type", type)], body: upload).json()["id"]?.stringValue ?? ""
            }
            let batch = try await Loopback.offPool {
                try Loopback.postJSON(limited.port, "/v1/batches", ["input_file_id": .string(fileID), "endpoint": "/v1/chat/completions", "completion_window": "24h"]).json()
            }
            #expect(batch["status"] == "completed")

            let (limitedExit, plainExit) = try await Loopback.offPool { (limited.terminate(), plain.terminate()) }
            #expect(limitedExit.status == 0 && limitedExit.stdout.isEmpty, "counts went to the file")
            #expect(plainExit.status == 0)
            let plainCounts = try StrictJSON.parse(plainExit.stdout)
            #expect(plainCounts["requests"] == 1 && plainCounts["faults"] == ["auth": 1])

            let counts = try StrictJSON.parse(try String(contentsOfFile: countsPath, encoding: .utf8))
            #expect(counts["requests"] == 2 && counts["limit_rejections"] == 1 && counts["malformed"] == 0)
            #expect(counts["rate_limits"]?["requests_per_minute"] == 60 && counts["rate_limits"]?["window"] == "second")
            #expect(counts["timeline"]?.at(0)?["requests"] == 1 && counts["timeline"]?.at(0)?["rejected"] == 1)
            #expect(counts["limit_summary"]?["rejection_rate"] == 0.5)
            #expect(counts["batch"]?["batches_created"] == 1 && counts["batch"]?["statuses"] == ["completed": 1])
            #expect(counts["batch"]?["submitted"] == ["only": 1] && counts["batch"]?["answered"] == ["only": 1])
        }
    }
}
