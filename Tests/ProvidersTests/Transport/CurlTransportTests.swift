import Foundation
import LLMKit
import Synchronization
import Testing
import TestSupport
@testable import Providers

@Suite struct CurlTransportTests {
    /// Routes by path: /status/N, /bytes/N, /slow/MS, /cut, /drop, /echo.
    static func makeServer() throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { request in
            let parts = request.path.split(separator: "/").map(String.init)
            switch parts.first {
            case "status":
                let status = Int(parts[1]) ?? 500
                return .json(status, "{\"status\": \(status)}", headers: [("X-Request-Id", "req-\(status)"), ("Retry-After", "2")])
            case "bytes":
                let n = Int(parts[1]) ?? 0
                return .respond(status: 200, body: (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
            case "slow":
                return .json(200, "{}", delay: (Double(parts[1]) ?? 1000) / 1000)
            case "cut":
                return .closeMidBody(status: 200, declaredLength: 1000, sent: Array("{\"items\": [".utf8))
            case "drop":
                return .closeWithoutResponse
            case "echo":
                let auth = request.headers["authorization"] ?? ""
                return .respond(status: 200, headers: [("X-Method", request.method), ("X-Auth", auth)], body: request.body)
            case "moved":
                return .respond(status: Int(parts[1]) ?? 301, headers: [("Location", "/echo")])
            case "loop":
                return .respond(status: 302, headers: [("Location", "/loop")])
            default:
                return .json(404, "{}")
            }
        }
    }

    @Test func statusCodesHeadersAndBodiesComeBack() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let transport = CurlTransport()
        for status in [200, 400, 404, 429, 503] {
            let response = try await transport.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/status/\(status)"))
            #expect(response.status == status)
            #expect(response.header("x-request-id") == "req-\(status)")
            #expect(response.header("Retry-After") == "2")
            #expect(String(decoding: response.body, as: UTF8.self) == "{\"status\": \(status)}")
        }
    }

    @Test func postBodiesAndHeadersGoOut() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let body = Array("{\"model\": \"m\", \"text\": \"é🐲\"}".utf8)
        let response = try await CurlTransport().send(HTTPRequest(method: "POST", url: "\(server.baseURL)/echo", headers: [("Authorization", "Bearer k"), ("Content-Type", "application/json")], body: body))
        #expect(response.body == body)
        #expect(response.header("x-method") == "POST")
        #expect(response.header("x-auth") == "Bearer k")
    }

    @Test func largeBodiesArriveIntact() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let n = 8 * 1024 * 1024
        let response = try await CurlTransport().send(HTTPRequest(method: "GET", url: "\(server.baseURL)/bytes/\(n)"))
        #expect(response.body.count == n)
        #expect(response.body == (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
    }

    @Test func slowResponsesHitTheTimeout() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let started = ContinuousClock.now
        await #expect { try await CurlTransport().send(HTTPRequest(method: "GET", url: "\(server.baseURL)/slow/30000", timeout: .milliseconds(300))) } throws: { error in
            (error as? LLMError)?.kind == .timeout
        }
        // Loose bounds throughout: other tests share the 2 cores; what matters is far sooner than the answer.
        #expect(ContinuousClock.now - started < .seconds(15), "the 0.3 s timeout, far sooner than the 30 s answer")
    }

    @Test func aConnectionClosedMidBodyIsATransportError() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let transport = CurlTransport()
        for path in ["/cut", "/drop"] {
            await #expect { try await transport.send(HTTPRequest(method: "GET", url: server.baseURL + path)) } throws: { error in
                guard let e = error as? LLMError else { return false }
                return e.kind == .transport && e.isRetryable
            }
        }
        // The transport still works afterwards.
        #expect(try await transport.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/status/200")).status == 200)
    }

    @Test func refusedConnectionsSayTheServerIsNotRunning() async throws {
        let server = try Self.makeServer()
        let url = "\(server.baseURL)/status/200"
        server.stop()
        try await Task.sleep(for: .milliseconds(50))
        await #expect { try await CurlTransport().send(HTTPRequest(method: "GET", url: url, timeout: .seconds(5))) } throws: { error in
            guard let e = error as? LLMError else { return false }
            return e.kind == .transport && e.message.contains("127.0.0.1")
        }
    }

    @Test func manyConcurrentRequestsShareFewConnections() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let transport = CurlTransport(configuration: CurlTransportConfiguration(maximumConnections: 8))
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<300 {
                group.addTask { try await transport.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/status/\(200 + i % 2)")).status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.count == 300)
        #expect(statuses.filter { $0 == 200 }.count == 150)
        #expect(server.requestsServed == 300)
        #expect(server.connectionsAccepted <= 8, "connections are reused, at most the configured bound")
        #expect(transport.inFlight == 0)
    }

    @Test func cancellationRemovesTheTransferAtOnce() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let transport = CurlTransport()
        let task = Task { try await transport.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/slow/30000")) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(transport.inFlight == 1)
        let started = ContinuousClock.now
        task.cancel()
        await #expect { try await task.value } throws: { ($0 as? LLMError)?.kind == .cancelled }
        // Far sooner than the 30 s answer.
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(transport.inFlight == 0)
        // A task cancelled before it sends fails without touching the network.
        let before = server.requestsServed
        let early = Task {
            try? await Task.sleep(for: .seconds(10))
            return try await transport.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/status/200"))
        }
        early.cancel()
        await #expect { try await early.value } throws: { ($0 as? LLMError)?.kind == .cancelled }
        #expect(server.requestsServed == before)
    }

    @Test func answersLargerThanTheLimitFailWhileArriving() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let small = try await CurlTransport.shared.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/bytes/1000", maximumResponseBytes: 1000))
        #expect(small.body.count == 1000)
        await #expect { try await CurlTransport.shared.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/bytes/3000000", maximumResponseBytes: 1 << 20)) } throws: { error in
            guard let e = error as? LLMError else { return false }
            return e.kind == .responseTooLarge && e.message.contains("1048576 bytes")
        }
    }

    @Test func redirectsAreFollowedKeepingTheMethodAndBodyAndLoopsEnd() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        for status in [301, 302, 307, 308] {
            let response = try await CurlTransport.shared.send(HTTPRequest(method: "POST", url: "\(server.baseURL)/moved/\(status)",
                                                                         headers: [("Authorization", "Bearer k")], body: Array("{\"a\":1}".utf8)))
            #expect(response.status == 200 && response.header("x-method") == "POST" && response.body == Array("{\"a\":1}".utf8), "\(status)")
        }
        await #expect { try await CurlTransport.shared.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/loop")) } throws: { error in
            guard let e = error as? LLMError else { return false }
            return e.kind == .badRequest && e.message.contains("redirected more times") && e.message.contains("/loop")
        }
    }

    @Test func aReceiverCanStopTheTransferAndGetsWhatCameSoFar() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let pieces = Mutex(0)
        let response = try await CurlTransport.shared.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/bytes/2000000", onBody: { _ in
            pieces.withLock { $0 += 1 }
            return .stop
        }))
        #expect(response.stoppedByReceiver && response.status == 200)
        #expect(response.body.count > 0 && response.body.count < 2_000_000 && pieces.withLock { $0 } == 1)
    }

    @Test func aStalledAnswerFailsAfterTheStallTimeoutNotTheTotal() async throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let started = ContinuousClock.now
        await #expect { try await CurlTransport.shared.send(HTTPRequest(method: "GET", url: "\(server.baseURL)/slow/40000", timeout: .seconds(120), stallTimeout: .seconds(1))) } throws: { error in
            (error as? LLMError)?.kind == .timeout
        }
        #expect(ContinuousClock.now - started < .seconds(20), "the 1 s stall, far sooner than the 40 s answer")
    }
}
