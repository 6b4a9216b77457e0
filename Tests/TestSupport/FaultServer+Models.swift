import Foundation
import LLMKit
import Synchronization

// The model lists (``FaultServer/Configuration/models``), in each wire format, for the pool's
// model check (`ModelListing`):
//
// - OpenAI: `GET /v1/models` → `{"object": "list", "data": [{"id", "object": "model", "owned_by"}]}`.
// - Anthropic (a `GET /v1/models` carrying `anthropic-version`), as PyPI `anthropic` 2.17.0
//   reads it (`resources/models.py`, `pagination.py` `SyncPage`, `types/model_info.py`
//   `ModelInfo`): `?limit` (default 20, at most 1000) and `after_id`; a page `{"data":
//   [ModelInfo], "has_more", "first_id", "last_id"}`.
// - Gemini: `GET /v1beta/models`, as PyPI `google-genai` 3.6.1 reads it (`models.py`
//   `_ListModelsConfig_to_mldev`, `_ListModelsResponse_from_mldev`, `_Model_from_mldev`):
//   `?pageSize` (default 50, at most 1000) and `pageToken`; a page `{"models": [{"name":
//   "models/NAME", "displayName", "version", "inputTokenLimit", "outputTokenLimit",
//   "supportedGenerationMethods"}], "nextPageToken"}`, an empty one `{}`.
//
// Every page is at most ``FaultServer/Configuration/modelsPageLimit`` long, so a client's
// paging can be seen. Without ``FaultServer/Configuration/models`` each route answers 404 in
// its own error format, as servers without a model list do.

extension FaultServer.Core {
    /// A model-list route, or `nil` when `request` is none.
    func modelList(_ request: LoopbackHTTPServer.Request) -> LoopbackHTTPServer.Action? {
        guard request.method == "GET" else { return nil }
        let dialect: FaultServer.Dialect
        switch request.route {
        case "/v1/models": dialect = request.headers["anthropic-version"] == nil ? .openAI : .anthropic
        case "/v1beta/models": dialect = .gemini
        default: return nil
        }
        if let problem = FaultServer.keyProblem(request, dialect: dialect, key: configuration.requiredKey) {
            state.withLock { $0.counts.unauthenticated += 1 }
            return FaultServer.nativeError(dialect, status: 401, message: problem, headers: [], delay: 0)
        }
        guard let models = configuration.models else {
            if dialect == .openAI { return .json(404, FaultServer.errorBody("Not found: GET /v1/models", type: "invalid_request_error", code: nil)) }
            return FaultServer.nativeError(dialect, status: 404, message: "Not found: GET \(request.route)", headers: [], delay: 0)
        }
        let query = request.query
        /// The page of `models` after `cursor` (the last name of the page before), `size` long at most.
        func page(defaultSize: Int, size: String?, after cursor: String?) -> (names: ArraySlice<String>, more: Bool) {
            let size = min(configuration.modelsPageLimit, 1000, max(1, size.flatMap { Int($0) } ?? defaultSize))
            let start = cursor.flatMap { models.firstIndex(of: $0).map { $0 + 1 } } ?? 0
            let names = models[min(start, models.count)...].prefix(size)
            return (names, names.endIndex < models.count)
        }
        switch dialect {
        case .openAI:
            let list: JSONValue = ["object": "list", "data": .array(models.map { ["id": .string($0), "object": "model", "owned_by": "fault-server"] })]
            return .json(200, FaultServer.text(list))
        case .anthropic:
            let (names, more) = page(defaultSize: 20, size: query["limit"], after: query["after_id"])
            let created = FaultServer.rfc3339(1_750_000_000)
            let data = names.map { name -> JSONValue in
                ["type": "model", "id": .string(name), "display_name": .string(name), "created_at": .string(created), "lifecycle": "active"]
            }
            return .json(200, FaultServer.text(["data": .array(data), "has_more": .bool(more), "first_id": names.first.map(JSONValue.string) ?? .null,
                                                "last_id": names.last.map(JSONValue.string) ?? .null]))
        case .gemini:
            let (names, more) = page(defaultSize: 50, size: query["pageSize"], after: query["pageToken"])
            var value = JSONObject()
            if !names.isEmpty {
                value["models"] = .array(names.map { name -> JSONValue in
                    ["name": .string("models/" + name), "displayName": .string(name), "version": "001", "inputTokenLimit": 1_048_576,
                     "outputTokenLimit": 65_536, "supportedGenerationMethods": ["generateContent", "batchGenerateContent"]]
                })
            }
            if more, let last = names.last { value["nextPageToken"] = .string(last) }
            return .json(200, FaultServer.text(.object(value)))
        }
    }
}
