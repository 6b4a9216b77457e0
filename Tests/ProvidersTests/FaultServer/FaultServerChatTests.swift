import Foundation
import LLMKit
import Testing
@testable import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension FaultServerSelfTests {
    /// The chat endpoint's new faults and streaming, checked byte by byte over real sockets.
    @Suite struct FaultServerChatTests {
        static func server(_ fault: FaultServer.Fault? = nil, _ adjust: (inout FaultServer.Configuration) -> Void = { _ in }) throws -> FaultServer {
            var configuration = FaultServer.Configuration()
            if let fault { configuration.mix = [fault: 1] }
            adjust(&configuration)
            return try FaultServer(configuration)
        }

        static func content(_ response: WireResponse) throws -> String {
            try #require(try response.json()["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue)
        }

        @Test func theNewFaultsParseInAMix() throws {
            let mix = try FaultServer.parseMix("endless=0.01,huge_error=0.01,echo_auth=0.01,auth=0.01,forbidden=0.01,model_not_found=0.01,redirect=0.01,invalid_utf8=0.01,zero_tiny=0.01,runaway=0.01")
            #expect(mix.count == 10)
            #expect(throws: (any Error).self) { try FaultServer.parseMix("endles=0.1") }
        }

        @Test func errorFaults() async throws {
            struct Case: Sendable { var fault: FaultServer.Fault; var status: Int; var code: String? }
            let cases = [Case(fault: .auth, status: 401, code: "invalid_api_key"), Case(fault: .echoAuth, status: 401, code: "invalid_api_key"),
                         Case(fault: .forbidden, status: 403, code: "unsupported_country_region_territory"),
                         Case(fault: .modelNotFound, status: 404, code: "model_not_found"), Case(fault: .hugeError, status: 500, code: nil)]
            for c in cases {
                let server = try Self.server(c.fault)
                defer { server.stop() }
                let port = server.server.port
                let response = try await Loopback.offPool {
                    try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody(model: "gpt-nope"), headers: [("Authorization", "Bearer sk-secret-123")])
                }
                #expect(response.status == c.status, "\(c.fault)")
                let error = try #require(try response.json()["error"])
                #expect(error["code"]?.stringValue == c.code, "\(c.fault)")
                let message = error["message"]?.stringValue ?? ""
                switch c.fault {
                case .echoAuth: #expect(message.contains("Bearer sk-secret-123"), "echoes the credential, as a badly behaved server would")
                case .auth: #expect(!message.contains("sk-secret-123"))
                case .modelNotFound: #expect(message.contains("`gpt-nope`"))
                case .hugeError: #expect(message.utf8.count == 1 << 20 && response.body.count > 1 << 20)
                default: break
                }
                #expect(server.counts.faults[c.fault.rawValue] == 1)
            }
        }

        @Test func redirectPointsAtTheSamePathOnTheSameServer() async throws {
            let server = try Self.server(.redirect)
            defer { server.stop() }
            let port = server.server.port
            let response = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions?x=1", Loopback.chatBody()) }
            #expect(response.status == 301)
            #expect(response.header("location") == "http://127.0.0.1:\(port)/v1/chat/completions?x=1")
        }

        @Test func invalidUTF8InsideAReason() async throws {
            let server = try Self.server(.invalidUTF8)
            defer { server.stop() }
            let port = server.server.port
            let response = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody(count: 3)) }
            #expect(response.status == 200)
            #expect(String(validating: response.body, as: UTF8.self) == nil, "the body is not UTF-8")
            #expect(throws: (any Error).self) { try response.json() }
            // With the broken bytes replaced, it is a well-formed completion whose first reason held them.
            let broken: [UInt8] = [0xC3, 0x28, 0xFF, 0xFE, 0xED, 0xA0, 0x80]
            let at = try #require((0...(response.body.count - broken.count)).first { Array(response.body[$0..<($0 + broken.count)]) == broken })
            var repaired = response.body
            repaired.replaceSubrange(at..<(at + broken.count), with: Array("BROKEN".utf8))
            let content = try #require(try StrictJSON.parse(bytes: repaired)["choices"]?.at(0)?["message"]?["content"]?.stringValue)
            let items = try StrictJSON.parse(content)["items"]?.arrayValue ?? []
            #expect(items.count == 3 && items[0]["reason"]?.stringValue?.contains("BROKEN") == true)
        }

        @Test func zeroAndTinyValues() async throws {
            let server = try Self.server(.zeroTiny)
            defer { server.stop() }
            let port = server.server.port
            let response = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody(count: 3)) }
            let content = try Self.content(response)
            #expect(content.contains("\"angry\":1e-320"))
            let items = try #require(try StrictJSON.parse(content)["items"]?.arrayValue)
            let first = ["angry", "sad", "happy"].compactMap { items[0][$0]?.doubleValue }
            #expect(first[0] > 0 && first[0] < 1e-300 && first[0].isSubnormal && first[1] == 0 && first[2] == 0)
            #expect(["angry", "sad", "disgust", "contempt", "fear", "neutral", "surprise", "happy"].allSatisfy { items[1][$0]?.doubleValue == 0 })
            #expect(items[2]["neutral"] != nil)
        }

        @Test func runawayWithoutStreamingIsALongAnswerCutAtTheLimit() async throws {
            let server = try Self.server(.runaway)
            defer { server.stop() }
            let port = server.server.port
            let response = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody(count: 2)) }
            #expect(try response.json()["choices"]?.at(0)?["finish_reason"] == "length")
            let content = try Self.content(response)
            let close = try #require(content.range(of: "]}"))
            #expect(try StrictJSON.parse(String(content[..<close.upperBound]))["items"]?.arrayValue?.count == 2)
            #expect(content[close.upperBound...].count > 10_000)
        }

        /// `endless`: a client that stops reading and hangs up frees the server's thread; one that
        /// keeps reading gets a body cut off at the server's own cap.
        @Test func endlessRunsUntilTheClientHangsUpOrTheCap() async throws {
            let server = try Self.server(.endless) { $0.endlessMaxBytes = 1 << 20 }
            defer { server.stop() }
            let port = server.server.port
            let (partial, closed) = try await Loopback.offPool { () throws -> (WireResponse, Bool) in
                let connection = try RawConnection(port: port)
                try connection.send("POST", "/v1/chat/completions", headers: [("Content-Type", "application/json")],
                                    body: Array(JSONSerializer.string(Loopback.chatBody()).utf8))
                var received = 0
                let response = try connection.readResponse { piece in
                    received += piece.count
                    return received < 256 << 10
                }
                connection.hangUp()
                return (response, Loopback.eventually { server.server.openConnections == 0 })
            }
            #expect(partial.status == 200 && partial.chunked && !partial.complete)
            #expect(partial.body.count >= 256 << 10)
            #expect(partial.text.hasPrefix("{\"id\":\"chatcmpl-endless\""))
            #expect(closed, "the server noticed the hang-up and let the connection go")

            let capped = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody()) }
            #expect(!capped.complete, "never a closing chunk")
            #expect(capped.body.count >= 1 << 20 && capped.body.count < (1 << 20) + (128 << 10))
        }

        @Test func streamingLooksLikeOpenAIs() async throws {
            let server = try Self.server { $0.streamChunkCharacters = 7 }
            defer { server.stop() }
            let port = server.server.port
            let (plain, streamed, noUsage) = try await Loopback.offPool {
                (try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody(count: 3)),
                 try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody(count: 3, stream: true, includeUsage: true)),
                 try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody(count: 3, stream: true)))
            }
            #expect(streamed.status == 200 && streamed.chunked && streamed.complete)
            #expect(streamed.header("content-type") == "text/event-stream")
            let events = Loopback.events(streamed.body)
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map { try StrictJSON.parse($0) }
            #expect(chunks.allSatisfy { $0["object"] == "chat.completion.chunk" && $0["id"] == "chatcmpl-fault" && $0["model"] == "gpt-test" })
            #expect(chunks.first?["choices"]?.at(0)?["delta"]?["role"] == "assistant")
            // Content pieces of 7 characters add up to exactly the non-streamed content.
            let pieces = chunks.compactMap { $0["choices"]?.at(0)?["delta"]?["content"]?.stringValue }.filter { !$0.isEmpty }
            #expect(pieces.dropLast().allSatisfy { $0.count == 7 })
            #expect(pieces.joined() == (try Self.content(plain)))
            // The finish chunk, then the usage chunk with empty choices; every other chunk has usage null.
            let finish = chunks[chunks.count - 2]
            #expect(finish["choices"]?.at(0)?["finish_reason"] == "stop" && finish["choices"]?.at(0)?["delta"] == [:])
            let usage = chunks[chunks.count - 1]
            #expect(usage["choices"] == [] && usage["usage"]?["completion_tokens"] == 120)
            #expect(chunks.dropLast().allSatisfy { $0["usage"] == .null })
            // Without include_usage: no usage anywhere.
            let plainChunks = try Loopback.events(noUsage.body).dropLast().map { try StrictJSON.parse($0) }
            #expect(plainChunks.allSatisfy { $0["usage"] == nil })
            #expect(plainChunks.last?["choices"]?.at(0)?["finish_reason"] == "stop")
            #expect(server.counts.streams == 2)
        }

        @Test func streamedRefusalTruncationAndChunkDelay() async throws {
            let refusal = try Self.server(.refusal)
            defer { refusal.stop() }
            let refusalPort = refusal.server.port
            let refused = try await Loopback.offPool { try Loopback.postJSON(refusalPort, "/v1/chat/completions", Loopback.chatBody(stream: true)) }
            let refusedChunks = try Loopback.events(refused.body).dropLast().map { try StrictJSON.parse($0) }
            #expect(refusedChunks.compactMap { $0["choices"]?.at(0)?["delta"]?["refusal"]?.stringValue }.joined() == "I'm sorry, I can't help with that.")

            let truncated = try Self.server(.truncated)
            defer { truncated.stop() }
            let truncatedPort = truncated.server.port
            let cut = try await Loopback.offPool { try Loopback.postJSON(truncatedPort, "/v1/chat/completions", Loopback.chatBody(stream: true)) }
            let cutChunks = try Loopback.events(cut.body).dropLast().map { try StrictJSON.parse($0) }
            #expect(cutChunks.last?["choices"]?.at(0)?["finish_reason"] == "length")

            let slow = try Self.server { $0.chunkDelay = 0.02; $0.streamChunkCharacters = 50 }
            defer { slow.stop() }
            let slowPort = slow.server.port
            let started = Date()
            let (arrivals, response) = try await Loopback.offPool { () throws -> ([Double], WireResponse) in
                let connection = try RawConnection(port: slowPort)
                try connection.send("POST", "/v1/chat/completions", body: Array(JSONSerializer.string(Loopback.chatBody(count: 2, stream: true)).utf8))
                var arrivals: [Double] = []
                let response = try connection.readResponse { _ in arrivals.append(Date().timeIntervalSince(started)); return true }
                return (arrivals, response)
            }
            #expect(response.complete)
            let contentChunks = Loopback.events(response.body).count - 3   // role, finish, [DONE]
            #expect(arrivals.last! - arrivals.first! >= 0.02 * Double(contentChunks - 1) * 0.9, "pieces come over time: \(arrivals)")
        }

        /// A stream cut in the middle (`reset`), and a `runaway` stream that goes on after the JSON
        /// closed until the client hangs up.
        @Test func streamedResetAndRunaway() async throws {
            let reset = try Self.server(.reset)
            defer { reset.stop() }
            let resetPort = reset.server.port
            let cut = try await Loopback.offPool { try Loopback.postJSON(resetPort, "/v1/chat/completions", Loopback.chatBody(stream: true)) }
            #expect(cut.status == 200 && !cut.complete && !cut.text.contains("[DONE]"))

            let runaway = try Self.server(.runaway)
            defer { runaway.stop() }
            let port = runaway.server.port
            let (content, hungUp) = try await Loopback.offPool { () throws -> (String, Bool) in
                let connection = try RawConnection(port: port)
                try connection.send("POST", "/v1/chat/completions", body: Array(JSONSerializer.string(Loopback.chatBody(count: 2, stream: true)).utf8))
                var content = ""
                var pending = ""
                _ = try connection.readResponse { piece in
                    pending += String(decoding: piece, as: UTF8.self)
                    while let end = pending.range(of: "\n\n") {
                        let event = String(pending[..<end.lowerBound])
                        pending = String(pending[end.upperBound...])
                        if let chunk = try? StrictJSON.parse(String(event.dropFirst(6))) { content += chunk["choices"]?.at(0)?["delta"]?["content"]?.stringValue ?? "" }
                    }
                    return content.utf8.count < 30_000
                }
                connection.hangUp()
                return (content, Loopback.eventually { runaway.server.openConnections == 0 })
            }
            let close = try #require(content.range(of: "]}"))
            #expect(try StrictJSON.parse(String(content[..<close.upperBound]))["items"]?.arrayValue?.count == 2)
            #expect(content.utf8.count >= 30_000)
            #expect(hungUp)
        }

        /// One connection carries many answers, streamed or not; garbage and oversize requests are
        /// refused without taking the server down; chunked bodies, `Expect: 100-continue` and
        /// pipelined requests work.
        @Test func connectionsAreReusedAndTheParserIsRobust() async throws {
            let server = try Self.server()
            defer { server.stop() }
            let port = server.server.port
            let body = Array(JSONSerializer.string(Loopback.chatBody(count: 2)).utf8)
            let streamBody = Array(JSONSerializer.string(Loopback.chatBody(count: 2, stream: true)).utf8)
            try await Loopback.offPool {
                let connection = try RawConnection(port: port)
                for i in 0..<40 {
                    try connection.send("POST", "/v1/chat/completions", body: i % 4 == 0 ? streamBody : body)
                    let response = try connection.readResponse()
                    guard response.status == 200, response.complete else { throw RawHTTPError("request \(i): \(response.status)") }
                }
                // Pipelined: two requests in one write.
                var two = Array("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
                two += two
                try connection.write(two)
                guard try connection.readResponse().status == 200, try connection.readResponse().status == 200 else { throw RawHTTPError("pipelining") }
                // A chunked request body.
                var chunked = Array("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
                for piece in stride(from: 0, to: body.count, by: 100).map({ Array(body[$0..<min(body.count, $0 + 100)]) }) {
                    chunked += Array(String(piece.count, radix: 16).utf8) + [13, 10] + piece + [13, 10]
                }
                chunked += Array("0\r\n\r\n".utf8)
                try connection.write(chunked)
                guard try connection.readResponse().status == 200 else { throw RawHTTPError("chunked body") }
                // Expect: 100-continue: the server says Continue before the body is sent.
                try connection.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \(body.count)\r\n\r\n")
                guard try connection.readResponse(stopAtInterim: true).status == 100 else { throw RawHTTPError("no 100 Continue") }
                try connection.write(body)
                guard try connection.readResponse().status == 200 else { throw RawHTTPError("after 100 Continue") }
            }
            #expect(server.server.connectionsAccepted == 1)
            #expect(server.counts.requests == 44 && server.counts.streams == 10)

            let refusals = try await Loopback.offPool { () throws -> [Int] in
                var statuses: [Int] = []
                for garbage in ["GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nX-Big: \(String(repeating: "a", count: 70_000))\r\n\r\n",
                                "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                                "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n"] {
                    let connection = try RawConnection(port: port)
                    try connection.write(garbage)
                    let response = try connection.readResponse()
                    statuses.append(response.status)
                    guard connection.serverClosed() else { throw RawHTTPError("kept open after \(response.status)") }
                }
                return statuses
            }
            #expect(refusals == [400, 431, 400, 413])
            let after = try await Loopback.offPool { try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody()) }
            #expect(after.status == 200, "still serving")
        }

        /// A standard client (URLSession) gets the limits' headers and a well-formed answer.
        @Test func aStandardClientIsServed() async throws {
            let server = try Self.server { $0.rateLimits = FaultServer.RateLimits(requestsPerMinute: 600, tokensPerMinute: 1_000_000) }
            defer { server.stop() }
            var request = URLRequest(url: URL(string: server.baseURL + "/chat/completions")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(JSONSerializer.string(Loopback.chatBody(count: 4)).utf8)
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            #expect(http.statusCode == 200)
            #expect(http.value(forHTTPHeaderField: "x-ratelimit-limit-requests") == "600")
            #expect(http.value(forHTTPHeaderField: "x-ratelimit-remaining-requests") == "599")
            let content = try StrictJSON.parse(bytes: Array(data))["choices"]?.at(0)?["message"]?["content"]?.stringValue ?? ""
            #expect(try StrictJSON.parse(content)["items"]?.arrayValue?.count == 4)
        }
    }

    /// The server's own JSON writer (built for speed: answers are written on every request) writes
    /// exactly what LLMKit's serializer writes.
    @Suite struct FaultServerEncoderTests {
        @Test func writesWhatJSONSerializerWrites() {
            let values: [JSONValue] = [
                .null, true, false, 0, -17, 0.7, .double(Double.leastNonzeroMagnitude * 2000), 1.5e300, 123456789012,
                "plain", "quote \" backslash \\ slash /", "tab\tnew\nline\rcr\u{08}\u{0C}", "\u{01}\u{1F}\u{7F}",
                "é🐲 ünïcödé", "line\u{2028}para\u{2029}end", "dagger \u{2020} euro \u{20AC}", "",
                [], [:], [1, "two", [3], ["four": 4]],
                ["b": 1, "a": ["nested": [true, .null, "x\"y"]], "": ""],
            ]
            for value in values {
                #expect(FaultServer.text(value) == JSONSerializer.string(value), "\(value)")
            }
        }
    }
}
