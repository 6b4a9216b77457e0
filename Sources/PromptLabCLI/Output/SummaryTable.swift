import Foundation
import LLMKit
import Providers

/// The summary printed after a run.
enum SummaryTable {
    static func render(_ report: RelabelReport, prompt: String, provider: String, model: String, endpoints: [EndpointStatistics] = [],
                       dollars: String? = nil, concurrency: ConcurrencyCap? = nil) -> String {
        let s = report.summary
        guard report.itemsToDo > 0 else {
            return "nothing to do: \(report.output) already holds all \(report.datasetItems) items (\(report.relabeledInOutput) relabeled)"
        }
        func rate(_ n: Int, of d: Int) -> String { d == 0 ? "n/a" : String(format: "%.1f%%", 100 * Double(n) / Double(d)) }
        func list<K: CustomStringConvertible>(_ d: [K: Int]) -> String {
            d.map { ($0.key.description, $0.value) }.sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        }
        let rows: [[String]] = [
            ["prompt", prompt], ["provider", "\(provider) (\(model))"],
            ["items", String(s.items)],
            ["relabeled", "\(s.relabeled) (\(rate(s.relabeled, of: s.items)))"],
            ["failed", s.failed == 0 ? "0" : "\(s.failed) (\(list(s.failedByKind)))"],
            ["provider errors", s.providerErrors.isEmpty ? "none" : list(s.providerErrors) + " (items)"],
            ["unchanged", "\(rate(s.unchangedExact, of: s.relabeled)) within 1e-6, \(rate(s.unchangedWithin001, of: s.relabeled)) within 0.01 (of relabeled)"],
            ["sum off", "\(s.sumOff) renormalised and flagged"],
            ["reasons cut", "\(s.reasonsCut) longer than the prompt's limit"],
            ["requests", "\(s.requests) (\(ProgressDisplay.count(s.attempts, "HTTP attempt", "HTTP attempts")), \(s.cacheHits) from the cache; "
                + "\(s.reasked) items re-asked, \(s.strayEntries) stray entries, \(s.answersWithStrippedText) answers with text around the JSON)"],
            ["token budget", "\(s.requestsAtBudget) of \(s.requests) requests used their whole budget (\(rate(s.requestsAtBudget, of: s.requests))); "
                + "largest answer \(s.largestCompletion) tokens, \(s.requestsOverBudget) over budget"],
            ["tokens", "\(s.usage.promptTokens) prompt (\(s.usage.cachedTokens) cached), \(s.usage.completionTokens) completion; "
                + String(format: "%.0f per item, %.1f completion per item", s.items == 0 ? 0 : Double(s.usage.totalTokens) / Double(s.items), s.completionTokensPerItem)],
            ["cost", dollars ?? "no price known for \(model) (see --prices)"],
            ["concurrency", concurrency?.summary ?? "n/a"],
            ["wall time", String(format: "%.1f s (journal sync %.2f s on its own thread, %.2f s waited for it)", report.seconds, report.syncSeconds, report.syncWaitSeconds)],
            ["output", report.output],
        ] + (report.votes.map { [["votes", String($0.sentence.dropFirst("votes: ".count))]] } ?? []) + batchRows(report.batch) + endpointRows(endpoints)
        return Table.render(header: ["", ""], rows: rows).split(separator: "\n").dropFirst().joined(separator: "\n")
    }

    /// The Batch API's rows: what was submitted, how the batches ended, what was resubmitted.
    static func batchRows(_ batch: BatchRunSummary?) -> [[String]] {
        guard let b = batch else { return [] }
        let statuses = b.statuses.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        var rows = [
            ["batches", "\(b.batchesCreated) created, \(b.batchesReattached) reattached; ended: \(statuses.isEmpty ? "none" : statuses); "
                + "\(ProgressDisplay.count(b.filesUploaded, "file", "files")) (\(b.bytesUploaded) bytes) uploaded"],
            ["batch lines", "\(b.errorLines) error lines (\(b.lineRetries) requests asked again), \(b.expiredResubmitted) requests of expired batches resubmitted, "
                + "\(ProgressDisplay.count(b.followUpWaves, "follow-up wave", "follow-up waves"))"],
            ["batch state", b.stateFile],
        ]
        if !b.validationErrors.isEmpty { rows.append(["failed batches", b.validationErrors.joined(separator: "; ")]) }
        return rows
    }

    /// One row per endpoint of a pool: requests, errors, latency, circuit-breaker history.
    static func endpointRows(_ endpoints: [EndpointStatistics]) -> [[String]] {
        endpoints.enumerated().map { i, e in
            let (p50, _) = Statistics.p50p95(e.latencies)
            let latency: String = String(format: "%.2f s (mean %.2f s)", p50, e.meanLatency)
            let model: String = e.model ?? "not reported"
            let circuit: String = "taken out \(e.takenOut)x, probed back \(e.probedBack)x" + (e.isOut ? "; out now" : "")
            let text: String = "\(e.baseURL): \(e.requests) requests, \(e.errors) errors, latency p50 \(latency), capacity \(e.capacity), model \(model); \(circuit)"
            return ["endpoint \(i + 1)", text]
        }
    }

    /// The summary as JSON (`--summary-json`), with a `batch` object for a Batch API run and
    /// `endpoints` for a pool.
    static func json(_ report: RelabelReport, prompt: String, provider: String, model: String, endpoints: [EndpointStatistics] = [],
                     cost: CostOptions.RunCost? = nil, concurrency: ConcurrencyCap? = nil) -> JSONValue {
        var json = report.summary.json(seconds: report.seconds, output: report.output, prompt: prompt, provider: provider, model: model)
        if case .object(var object) = json {
            if let cost { object["cost"] = cost.json }
            if let concurrency { object["concurrency"] = concurrency.json }
            if let votes = report.votes { object["votes"] = votes.json }
            json = .object(object)
        }
        if !endpoints.isEmpty, case .object(var object) = json {
            object["endpoints"] = .array(endpoints.map { e in
                ["base_url": .string(e.baseURL), "model": e.model.map(JSONValue.string) ?? .null, "capacity": .int(e.capacity), "requests": .int(e.requests),
                 "errors": .int(e.errors), "latency_p50_seconds": .double(Statistics.p50p95(e.latencies).0), "latency_mean_seconds": .double(e.meanLatency),
                 "taken_out": .int(e.takenOut), "probed_back": .int(e.probedBack), "out_at_end": .bool(e.isOut)]
            })
            json = .object(object)
        }
        guard let b = report.batch, case .object(var object) = json else { return json }
        object["batch"] = ["batches_created": .int(b.batchesCreated), "batches_reattached": .int(b.batchesReattached),
                           "statuses": .object(JSONObject(b.statuses.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.int($0.value)) })),
                           "files_uploaded": .int(b.filesUploaded), "bytes_uploaded": .int(b.bytesUploaded), "error_lines": .int(b.errorLines),
                           "line_retries": .int(b.lineRetries), "expired_resubmitted": .int(b.expiredResubmitted),
                           "follow_up_waves": .int(b.followUpWaves), "validation_errors": .array(b.validationErrors.map(JSONValue.string)),
                           "state_file": .string(b.stateFile), "dataset_passes": .int(b.datasetPasses), "bytes_downloaded": .int(b.bytesDownloaded),
                           "batches_cancelled": .int(b.batchesCancelled)]
        return .object(object)
    }

    /// The line printed when a run resumed an output.
    static func resumeLine(_ report: RelabelReport) -> String {
        let r = report.resumed
        var line = "resumed \(report.output): \(r.done.count) items were done, \(r.retrying) failed items asked again"
        if r.droppedTornLine { line += "; a torn last line was dropped" }
        if !r.acceptedDifferences.isEmpty { line += "; continued despite: " + r.acceptedDifferences.joined(separator: "; ") }
        return line + "\n"
    }
}

/// A plain text table with left-aligned columns.
enum Table {
    static func render(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
