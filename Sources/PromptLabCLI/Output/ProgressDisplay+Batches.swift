import LLMKit

extension ProgressDisplay {
    /// `batches: 1 in_progress, 2 completed (1200/3000 requests done, 3 failed)`.
    static func batches(_ batches: some Collection<BatchProgress>) -> String {
        var byStatus: [String: Int] = [:]
        for batch in batches { byStatus[batch.status.name, default: 0] += 1 }
        let statuses = byStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let total = batches.map(\.total).reduce(0, +), completed = batches.map(\.completed).reduce(0, +)
        let failed = batches.map(\.failed).reduce(0, +)
        return "batches: \(statuses) (\(completed + failed)/\(total) requests done, \(failed) failed)"
    }
}
