// fault-server: the fault-injecting OpenAI-compatible test server as a program, for benchmarks
// and manual runs. Serves on 127.0.0.1 only. Stops on SIGINT/SIGTERM and then writes what it
// saw (requests, faults, items) as JSON to --counts FILE or stdout.
import Foundation
import TestSupport

func usage() -> Never {
    print("""
        usage: fault-server [--port P] [--seed N] [--latency SECONDS] [--slow-delay SECONDS] [--retry-after SECONDS]
                            [--rpm N] [--tpm N] [--mix FAULT=W,...] [--counts FILE] [--log-bodies FILE]
        faults: \(FaultServer.Fault.allCases.filter { $0 != .none }.map(\.rawValue).joined(separator: ", "))
        """)
    exit(2)
}

var configuration = FaultServer.Configuration()
var port: UInt16 = 0
var countsPath: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let flag = arguments.next() {
    guard flag != "--help" else { usage() }
    guard let value = arguments.next() else { usage() }
    switch flag {
    case "--port": port = UInt16(value) ?? 0
    case "--seed": configuration.seed = UInt64(value) ?? 1
    case "--latency": configuration.latency = Double(value) ?? 0
    case "--slow-delay": configuration.slowDelay = Double(value) ?? 2
    case "--retry-after": configuration.retryAfter = Double(value) ?? 0.05
    case "--rpm": configuration.requestsPerMinute = Int(value)
    case "--tpm": configuration.tokensPerMinute = Int(value)
    case "--counts": countsPath = value
    case "--log-bodies": configuration.bodyLog = value
    case "--mix":
        do { configuration.mix = try FaultServer.parseMix(value) } catch {
            FileHandle.standardError.write(Data("fault-server: \(error)\n".utf8))
            exit(2)
        }
    default: usage()
    }
}

let server: FaultServer
do { server = try FaultServer(configuration, port: port) } catch {
    FileHandle.standardError.write(Data("fault-server: \(error)\n".utf8))
    exit(1)
}
FileHandle.standardOutput.write(Data("listening on \(server.baseURL)\n".utf8))

signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let stopSignals = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: .main) }
for source in stopSignals {
    source.setEventHandler {
        server.stop()
        let json = server.counts.json
        if let countsPath { try? (json + "\n").write(toFile: countsPath, atomically: true, encoding: .utf8) } else { print(json) }
        exit(0)
    }
    source.resume()
}
dispatchMain()
