import Foundation
import LLMKit
import Testing
import TestSupport

extension FaultServerSelfTests {
    /// The Files and Batch APIs over real sockets. Most tests move a manual clock through the
    /// lifecycle, so every status and count is exact; one runs on the wall clock.
    @Suite struct FaultServerBatchTests {
        /// The Batch API calls, each on a connection of its own, off the cooperative pool.
        struct API: Sendable {
            let port: Int

            func upload(_ file: [UInt8], purpose: String = "batch", filename: String = "input.jsonl") async throws -> WireResponse {
                let (type, body) = Loopback.multipart(purpose: purpose, filename: filename, file: file)
                return try await Loopback.offPool { [port] in try Loopback.request(port, "POST", "/v1/files", headers: [("Content-Type", type)], body: body) }
            }

            func uploadID(_ file: [UInt8]) async throws -> String {
                let response = try await upload(file)
                guard response.status == 200, let id = try response.json()["id"]?.stringValue else { throw RawHTTPError("upload: \(response.status) \(response.text)") }
                return id
            }

            func create(_ fileID: String?, endpoint: String? = "/v1/chat/completions", window: String? = "24h", metadata: JSONValue? = nil) async throws -> WireResponse {
                var body = JSONObject()
                body["input_file_id"] = fileID.map(JSONValue.string)
                body["endpoint"] = endpoint.map(JSONValue.string)
                body["completion_window"] = window.map(JSONValue.string)
                body["metadata"] = metadata
                let value = JSONValue.object(body)
                return try await Loopback.offPool { [port] in try Loopback.postJSON(port, "/v1/batches", value) }
            }

            func createID(_ fileID: String) async throws -> String {
                let response = try await create(fileID)
                guard response.status == 200, let id = try response.json()["id"]?.stringValue else { throw RawHTTPError("create: \(response.status) \(response.text)") }
                return id
            }

            func get(_ path: String) async throws -> WireResponse { try await Loopback.offPool { [port] in try Loopback.get(port, path) } }

            func batch(_ id: String) async throws -> JSONValue { try await get("/v1/batches/\(id)").json() }

            func cancel(_ id: String) async throws -> WireResponse {
                try await Loopback.offPool { [port] in try Loopback.request(port, "POST", "/v1/batches/\(id)/cancel") }
            }

            /// The lines of a file's content, parsed.
            func lines(_ fileID: JSONValue?) async throws -> [JSONValue] {
                guard let id = fileID?.stringValue else { return [] }
                let response = try await get("/v1/files/\(id)/content")
                guard response.status == 200 else { throw RawHTTPError("content: \(response.status)") }
                return try response.text.split(separator: "\n").map { try StrictJSON.parse(String($0)) }
            }
        }

        static func line(_ id: String, count: Int = 2, tag: String? = nil) -> String {
            JSONSerializer.string(["custom_id": .string(id), "method": "POST", "url": "/v1/chat/completions",
                                   "body": Loopback.chatBody(count: count, tag: tag ?? id)])
        }

        static func input(_ ids: [String], count: Int = 2) -> [UInt8] { Array((ids.map { line($0, count: count) }.joined(separator: "\n") + "\n").utf8) }

        static func server(_ clock: ManualClock?, _ adjust: (inout FaultServer.Configuration) -> Void = { _ in }) throws -> FaultServer {
            var configuration = FaultServer.Configuration()
            if let clock { configuration.clock = clock.function }
            configuration.batches.validatingDelay = 10
            configuration.batches.inProgressDelay = 100
            configuration.batches.finalizingDelay = 10
            configuration.batches.cancellingDelay = 5
            adjust(&configuration)
            return try FaultServer(configuration)
        }

        static let t0 = 1_800_000_000

        @Test func aBatchGoesThroughItsLifecycle() async throws {
            let clock = ManualClock(start: Double(Self.t0))
            let server = try Self.server(clock)
            defer { server.stop() }
            let api = API(port: server.server.port)
            let ids = (0..<10).map { "item-\($0)" }
            let bytes = Self.input(ids)

            let upload = try await api.upload(bytes, filename: "relabel.jsonl")
            let file = try upload.json()
            #expect(upload.status == 200)
            #expect(file["id"]?.stringValue?.hasPrefix("file-") == true && file["object"] == "file" && file["bytes"] == .int(bytes.count))
            #expect(file["created_at"] == .int(Self.t0) && file["filename"] == "relabel.jsonl" && file["purpose"] == "batch")
            let fileID = try #require(file["id"]?.stringValue)

            let created = try await api.create(fileID, metadata: ["run": "lifecycle"])
            var batch = try created.json()
            #expect(created.status == 200)
            let id = try #require(batch["id"]?.stringValue)
            #expect(id.hasPrefix("batch_") && batch["object"] == "batch" && batch["endpoint"] == "/v1/chat/completions")
            #expect(batch["status"] == "validating" && batch["input_file_id"] == .string(fileID) && batch["completion_window"] == "24h")
            #expect(batch["request_counts"] == ["total": 0, "completed": 0, "failed": 0])
            #expect(batch["created_at"] == .int(Self.t0) && batch["expires_at"] == .int(Self.t0 + 86_400) && batch["metadata"] == ["run": "lifecycle"])
            for key in ["errors", "output_file_id", "error_file_id", "in_progress_at", "finalizing_at", "completed_at", "failed_at", "expired_at",
                        "cancelling_at", "cancelled_at"] {
                #expect(batch[key] == .null, "\(key)")
            }

            clock.advance(by: 10)
            batch = try await api.batch(id)
            #expect(batch["status"] == "in_progress" && batch["in_progress_at"] == .int(Self.t0 + 10))
            #expect(batch["request_counts"] == ["total": 10, "completed": 0, "failed": 0])
            clock.advance(by: 50)
            #expect(try await api.batch(id)["request_counts"]?["completed"] == 5, "the lines finish evenly over the in-progress time")
            clock.advance(by: 50)
            batch = try await api.batch(id)
            #expect(batch["status"] == "finalizing" && batch["finalizing_at"] == .int(Self.t0 + 110) && batch["output_file_id"] == .null)
            clock.advance(by: 10)
            batch = try await api.batch(id)
            #expect(batch["status"] == "completed" && batch["completed_at"] == .int(Self.t0 + 120))
            #expect(batch["request_counts"] == ["total": 10, "completed": 10, "failed": 0] && batch["error_file_id"] == .null)

            let output = try await api.lines(batch["output_file_id"])
            #expect(output.count == 10)
            #expect(Set(output.compactMap { $0["custom_id"]?.stringValue }) == Set(ids))
            #expect(output.compactMap { $0["custom_id"]?.stringValue } != ids, "lines come in a shuffled order")
            for line in output {
                #expect(line["id"]?.stringValue?.hasPrefix("batch_req_") == true && line["error"] == .null)
                #expect(line["response"]?["status_code"] == 200 && line["response"]?["request_id"]?.stringValue?.hasPrefix("req_") == true)
                #expect(line["response"]?["body"]?["object"] == "chat.completion")
                let content = line["response"]?["body"]?["choices"]?.at(0)?["message"]?["content"]?.stringValue ?? ""
                #expect(try StrictJSON.parse(content)["items"]?.arrayValue?.count == 2)
            }
            // The same answer the chat endpoint gives for the same body.
            let item3 = try #require(output.first { $0["custom_id"] == "item-3" })
            let direct = try await Loopback.offPool { [port = server.server.port] in
                try Loopback.postJSON(port, "/v1/chat/completions", Loopback.chatBody(count: 2, tag: "item-3"))
            }
            #expect(try direct.json()["choices"]?.at(0)?["message"]?["content"] == item3["response"]?["body"]?["choices"]?.at(0)?["message"]?["content"])
            let outputFile = try await api.get("/v1/files/\(batch["output_file_id"]?.stringValue ?? "")").json()
            #expect(outputFile["purpose"] == "batch_output" && outputFile["filename"] == .string("\(id)_output.jsonl"))

            // Listing: newest first, paged with limit and after.
            _ = try await api.createID(fileID)
            let newest = try await api.createID(fileID)
            let page = try await api.get("/v1/batches?limit=2").json()
            #expect(page["object"] == "list" && page["data"]?.arrayValue?.count == 2 && page["has_more"] == true)
            #expect(page["first_id"] == .string(newest))
            let rest = try await api.get("/v1/batches?limit=2&after=\(page["last_id"]?.stringValue ?? "")").json()
            #expect(rest["data"]?.arrayValue?.map { $0["id"] } == [.string(id)] && rest["has_more"] == false)

            let counts = server.counts.batch
            #expect(counts.filesUploaded == 1 && counts.batchesCreated == 3 && counts.statuses == ["completed": 1, "validating": 2])
            #expect(counts.submitted == Dictionary(uniqueKeysWithValues: ids.map { ($0, 3) }))
            #expect(counts.answered == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
            #expect(counts.lineOutcomes == ["none": 10])
            let json = try StrictJSON.parse(server.counts.json)
            #expect(json["batch"]?["batches_created"] == 3 && json["batch"]?["custom_ids_answered"] == 10)
        }

        @Test func invalidInputFailsWithAnErrorPerLine() async throws {
            let clock = ManualClock(start: Double(Self.t0))
            let server = try Self.server(clock)
            defer { server.stop() }
            let api = API(port: server.server.port)
            func body(_ changes: (inout JSONObject) -> Void) -> String {
                var line = try! StrictJSON.parse(Self.line("x")).objectValue!
                changes(&line)
                return JSONSerializer.string(.object(line))
            }
            let lines = [
                Self.line("a"),                                                                 // 1 fine
                "not json",                                                                     // 2
                body { $0["custom_id"] = nil },                                                 // 3
                Self.line("a"),                                                                 // 4 duplicate
                body { $0["custom_id"] = "m"; $0["method"] = "GET" },                           // 5
                body { $0["custom_id"] = "u"; $0["url"] = "/v1/embeddings" },                   // 6
                body { $0["custom_id"] = "b"; var b = $0["body"]!.objectValue!; b["model"] = nil; $0["body"] = .object(b) },      // 7
                body { $0["custom_id"] = "o"; var b = $0["body"]!.objectValue!; b["model"] = "other"; $0["body"] = .object(b) },  // 8
                body { $0["custom_id"] = "n"; var b = $0["body"]!.objectValue!; b["messages"] = nil; $0["body"] = .object(b) },   // 9
                body { $0["custom_id"] = 5 },                                                   // 10
                "[1, 2]",                                                                       // 11
                Self.line("z"),                                                                 // 12 fine
            ]
            let id = try await api.createID(try await api.uploadID(Array((lines.joined(separator: "\r\n") + "\r\n").utf8)))
            #expect(try await api.batch(id)["status"] == "validating", "input is checked, and reported, after the validating delay")
            clock.advance(by: 10)
            let batch = try await api.batch(id)
            #expect(batch["status"] == "failed" && batch["failed_at"] == .int(Self.t0 + 10) && batch["in_progress_at"] == .null)
            #expect(batch["request_counts"] == ["total": 0, "completed": 0, "failed": 0] && batch["output_file_id"] == .null)
            #expect(batch["errors"]?["object"] == "list")
            let errors = try #require(batch["errors"]?["data"]?.arrayValue)
            let found = errors.map { "\($0["line"]?.intValue ?? 0):\($0["code"]?.stringValue ?? "")" }
            #expect(found == ["2:invalid_json_line", "3:missing_required_parameter", "4:duplicate_custom_id", "5:invalid_value", "6:url_mismatch",
                              "7:missing_required_parameter", "8:model_mismatch", "9:missing_required_parameter", "10:invalid_value", "11:invalid_json_line"])
            #expect(errors.allSatisfy { !($0["message"]?.stringValue ?? "").isEmpty && $0.objectValue?.keys.contains("param") == true })
            #expect(errors[1]["param"] == "custom_id" && errors[6]["param"] == "body.model")
            clock.advance(by: 1000)
            #expect(try await api.batch(id)["status"] == "failed")

            // A file with nothing in it, and one with one request too many.
            let empty = try await api.createID(try await api.uploadID(Array("\n".utf8)))
            let tooMany = try await api.createID(try await api.uploadID(Array(String(repeating: "{}\n", count: 50_001).utf8)))
            clock.advance(by: 10)
            #expect(try await api.batch(empty)["errors"]?["data"]?.at(0)?["code"] == "empty_file")
            #expect(try await api.batch(tooMany)["errors"]?["data"]?.at(0)?["code"] == "too_many_tasks")
            #expect(server.counts.batch.statuses == ["failed": 3])
        }

        @Test func badRequestsAreRefusedAtOnce() async throws {
            let server = try Self.server(ManualClock())
            defer { server.stop() }
            let api = API(port: server.server.port)
            let fileID = try await api.uploadID(Self.input(["a"]))
            let fineTune = try await api.upload(Self.input(["a"]), purpose: "fine-tune")
            let fineTuneID = try fineTune.json()["id"]?.stringValue
            #expect(try await api.create(nil).status == 400)
            #expect(try await api.create("file-nope").status == 404)
            #expect(try await api.create(fileID, window: "1h").status == 400)
            #expect(try await api.create(fileID, window: nil).status == 400)
            #expect(try await api.create(fileID, endpoint: "/v1/embeddings").status == 400)
            #expect(try await api.create(fileID, metadata: ["n": 1]).status == 400)
            #expect(try await api.create(fineTuneID).status == 400)
            #expect(try await api.upload(Self.input(["a"]), purpose: "nonsense").status == 400)
            let notMultipart = try await Loopback.offPool { [port = server.server.port] in try Loopback.postJSON(port, "/v1/files", ["purpose": "batch"]) }
            #expect(notMultipart.status == 400)
            #expect(try await api.get("/v1/batches/batch_nope").status == 404)
            #expect(try await api.cancel("batch_nope").status == 404)
            #expect(server.counts.batch.batchesCreated == 0 && server.counts.requests == 0, "none of it counts as a chat request")

            // The Files API itself: list, content, delete.
            let listed = try await api.get("/v1/files").json()
            #expect(listed["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue }.contains(fileID) == true)
            #expect(try await api.get("/v1/files/\(fileID)/content").body == Self.input(["a"]))
            let deleted = try await Loopback.offPool { [port = server.server.port] in try Loopback.request(port, "DELETE", "/v1/files/\(fileID)") }
            #expect(try deleted.json() == ["id": .string(fileID), "object": "file", "deleted": true])
            #expect(try await api.get("/v1/files/\(fileID)").status == 404)
        }

        @Test func anExpiredBatchKeepsItsFinishedHalf() async throws {
            let clock = ManualClock(start: Double(Self.t0))
            let server = try Self.server(clock) { $0.batches.faults.expire = 1; $0.batches.faults.expireAt = 0.5 }
            defer { server.stop() }
            let api = API(port: server.server.port)
            let ids = (0..<10).map { "e\($0)" }
            let first = try await api.createID(try await api.uploadID(Self.input(ids)))
            clock.advance(by: 10 + 49)
            #expect(try await api.batch(first)["status"] == "in_progress")
            clock.advance(by: 1)
            let expired = try await api.batch(first)
            #expect(expired["status"] == "expired" && expired["expired_at"] == .int(Self.t0 + 60) && expired["completed_at"] == .null)
            #expect(expired["request_counts"] == ["total": 10, "completed": 5, "failed": 0] && expired["error_file_id"] == .null)
            let done = try await api.lines(expired["output_file_id"]).compactMap { $0["custom_id"]?.stringValue }
            #expect(done.count == 5)
            let remainder = ids.filter { !done.contains($0) }

            // The client resubmits the rest; it expires half done too.
            let second = try await api.createID(try await api.uploadID(Self.input(remainder)))
            clock.advance(by: 100)
            let again = try await api.lines(try await api.batch(second)["output_file_id"]).compactMap { $0["custom_id"]?.stringValue }
            #expect(again.count == 2 && Set(again).isSubset(of: Set(remainder)))
            let counts = server.counts.batch
            #expect(done.allSatisfy { counts.submitted[$0] == 1 } && remainder.allSatisfy { counts.submitted[$0] == 2 },
                    "each custom_id submitted once, except the expired remainder")
            #expect(counts.answered.values.allSatisfy { $0 == 1 } && counts.answered.count == 7)
            #expect(counts.statuses == ["expired": 2])

            // Told to, the server lists the unfinished lines in the error file instead.
            let listing = try Self.server(clock) { $0.batches.faults.expire = 1; $0.batches.expiredLinesInErrorFile = true }
            defer { listing.stop() }
            let api2 = API(port: listing.server.port)
            let third = try await api2.createID(try await api2.uploadID(Self.input(ids)))
            clock.advance(by: 60)
            let errors = try await api2.lines(try await api2.batch(third)["error_file_id"])
            #expect(errors.count == 5 && errors.allSatisfy { $0["response"] == .null && $0["error"]?["code"] == "batch_expired" })
        }

        @Test func anInjectedValidationFailure() async throws {
            let clock = ManualClock()
            let server = try Self.server(clock) { $0.batches.faults.failValidation = 1 }
            defer { server.stop() }
            let api = API(port: server.server.port)
            let id = try await api.createID(try await api.uploadID(Self.input(["a", "b"])))
            clock.advance(by: 10)
            let batch = try await api.batch(id)
            #expect(batch["status"] == "failed" && batch["errors"]?["data"]?.at(0)?["code"] == "token_limit_exceeded")
            #expect(server.counts.batch.submitted == ["a": 1, "b": 1])
        }

        @Test func lineFaultsLandInTheRightFile() async throws {
            let clock = ManualClock()
            let server = try Self.server(clock) {
                $0.batches.faults = try! FaultServer.BatchFaults.parse("line_500=0.25,line_error=0.25,prose=0.25")
            }
            defer { server.stop() }
            let api = API(port: server.server.port)
            var lines = (0..<40).map { Self.line("l\($0)") }
            // A body the generator cannot answer (no response_format): a 400 line, unless a fault came first.
            lines.append(JSONSerializer.string(["custom_id": "plain", "method": "POST", "url": "/v1/chat/completions",
                                                "body": ["model": "gpt-test", "messages": [["role": "user", "content": "hi"]]]]))
            let id = try await api.createID(try await api.uploadID(Array(lines.joined(separator: "\n").utf8)))
            clock.advance(by: 120)
            let batch = try await api.batch(id)
            let output = try await api.lines(batch["output_file_id"])
            let errors = try await api.lines(batch["error_file_id"])
            #expect(batch["status"] == "completed")
            #expect(batch["request_counts"] == ["total": 41, "completed": .int(output.count), "failed": .int(errors.count)])
            #expect(output.count + errors.count == 41)
            #expect(output.allSatisfy { $0["response"]?["status_code"] == 200 && $0["error"] == .null })
            let serverErrors = errors.filter { $0["response"]?["status_code"] == 500 }
            let failures = errors.filter { $0["response"] == .null }
            let badRequests = errors.filter { $0["response"]?["status_code"] == 400 }
            #expect(serverErrors.allSatisfy { $0["response"]?["body"]?["error"]?["type"] == "server_error" && $0["error"] == .null })
            #expect(failures.allSatisfy { $0["error"]?["code"] != nil && $0["error"]?["message"] != nil })
            #expect(serverErrors.count + failures.count + badRequests.count == errors.count)
            let prose = output.filter { ($0["response"]?["body"]?["choices"]?.at(0)?["message"]?["content"]?.stringValue ?? "").hasPrefix("Here are") }
            let outcomes = server.counts.batch.lineOutcomes
            #expect(outcomes["line_500"] == serverErrors.count && outcomes["line_error"] == failures.count && outcomes["prose"] == prose.count)
            #expect(outcomes.values.reduce(0, +) == 41)
            #expect(serverErrors.count > 3 && failures.count > 3 && prose.count > 3 && (outcomes["none"] ?? 0) > 3, "\(outcomes)")
            #expect(Set(errors.compactMap { $0["custom_id"]?.stringValue }) == Set(server.counts.batch.errored.keys))
        }

        @Test func cancellingKeepsWhatWasDone() async throws {
            let clock = ManualClock(start: Double(Self.t0))
            let server = try Self.server(clock)
            defer { server.stop() }
            let api = API(port: server.server.port)
            let id = try await api.createID(try await api.uploadID(Self.input((0..<10).map { "c\($0)" })))
            clock.advance(by: 10 + 30)
            let cancelling = try await api.cancel(id)
            let batch = try cancelling.json()
            #expect(cancelling.status == 200 && batch["status"] == "cancelling" && batch["cancelling_at"] == .int(Self.t0 + 40))
            #expect(batch["request_counts"] == ["total": 10, "completed": 3, "failed": 0])
            clock.advance(by: 100)
            #expect(try await api.batch(id)["request_counts"]?["completed"] == 3, "no progress after the cancel")
            let cancelled = try await api.batch(id)
            #expect(cancelled["status"] == "cancelled" && cancelled["cancelled_at"] == .int(Self.t0 + 45) && cancelled["completed_at"] == .null)
            #expect(try await api.lines(cancelled["output_file_id"]).count == 3)
            #expect(try await api.cancel(id).status == 400)
            #expect(server.counts.batch.cancelRequests == 2)
        }

        /// Real time: every status polled is the one the delays give for the time it was asked
        /// (within the request's own round trip), so the check holds on a loaded machine too.
        @Test func theLifecycleRunsOnTheWallClock() async throws {
            let (v, i, f) = (0.1, 0.8, 0.1)
            let server = try Self.server(nil) {
                $0.batches.validatingDelay = v
                $0.batches.inProgressDelay = i
                $0.batches.finalizingDelay = f
            }
            defer { server.stop() }
            let api = API(port: server.server.port)
            let fileID = try await api.uploadID(Self.input((0..<20).map { "w\($0)" }))
            let order = ["validating", "in_progress", "finalizing", "completed"]
            func expected(_ elapsed: Double) -> Int { elapsed < v ? 0 : elapsed < v + i ? 1 : elapsed < v + i + f ? 2 : 3 }
            let createdFrom = Date()
            let id = try await api.createID(fileID)
            let createdBy = Date()
            var seen: [(status: Int, completed: Int)] = []
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                let asked = Date()
                let batch = try await api.batch(id)
                let answered = Date()
                let status = try #require(order.firstIndex(of: batch["status"]?.stringValue ?? ""))
                let earliest = expected(asked.timeIntervalSince(createdBy)), latest = expected(answered.timeIntervalSince(createdFrom))
                #expect((earliest...latest).contains(status), "\(order[status]) between \(order[earliest]) and \(order[latest])")
                seen.append((status, batch["request_counts"]?["completed"]?.intValue ?? -1))
                if status == 3 { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(seen.last?.status == 3 && seen.last?.completed == 20)
            #expect(seen.map(\.status) == seen.map(\.status).sorted() && seen.map(\.completed) == seen.map(\.completed).sorted())
            let inProgress = seen.filter { $0.status == 1 }.map(\.completed)
            if inProgress.count >= 4 { #expect(Set(inProgress).count >= 2, "the count grows while in progress: \(inProgress)") }
        }
    }
}
