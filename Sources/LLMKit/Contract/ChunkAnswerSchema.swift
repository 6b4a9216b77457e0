import Synchronization

/// The output contract (DESIGN.md): the JSON a model must return for a chunk of N items.
///
///     {"items": [{"index": 1, "angry": 0.1, "sad": 0, ..., "happy": 0.2, "reason": "..."}, ...]}
///
/// with exactly the indices 1...N. The schema meets OpenAI strict mode's rules (root object,
/// `additionalProperties: false` and every property required on every object) and is also
/// checked locally, because constraints are partial (llama.cpp ignores number ranges) and
/// some providers cannot constrain at all. "The 8 values sum to 1" cannot be said in JSON
/// Schema: ``EmotionDistribution/normalizing(_:policy:upperBound:)`` handles it.
public enum ChunkAnswerSchema {
    /// The name sent with the schema (OpenAI requires one).
    public static let name = "emotion_relabel_batch"

    /// The schema of one entry of `items`; the reason, when asked for, has at most
    /// `reasonLimit` characters (`maxLength`, which llama.cpp's grammar enforces; adapters for
    /// APIs whose strict mode refuses the keyword remove it, and the parser checks it anyway).
    public static func itemSchema(count: Int, includeReason: Bool, reasonLimit: Int? = nil) -> JSONValue {
        var properties = JSONObject()
        properties["index"] = ["type": "integer", "minimum": 1, "maximum": .int(max(1, count))]
        for emotion in Emotion.allCases {
            properties[emotion.name] = ["type": "number", "minimum": 0, "maximum": 1]
        }
        if includeReason {
            properties["reason"] = reasonLimit.map { ["type": "string", "maxLength": .int($0)] } ?? ["type": "string"]
        }
        return [
            "type": "object",
            "properties": .object(properties),
            "required": .array(properties.keys.map { .string($0) }),
            "additionalProperties": false,
        ]
    }

    /// The schema of the whole answer for a chunk of `count` items.
    public static func schema(count: Int, includeReason: Bool, reasonLimit: Int? = nil) -> JSONValue {
        [
            "type": "object",
            "properties": [
                "items": [
                    "type": "array",
                    "items": itemSchema(count: count, includeReason: includeReason, reasonLimit: reasonLimit),
                    "minItems": .int(count),
                    "maxItems": .int(count),
                ]
            ],
            "required": ["items"],
            "additionalProperties": false,
        ]
    }

    /// The schema wrapped for a ``CompletionRequest`` (built once per chunk size and kept).
    public static func responseSchema(count: Int, includeReason: Bool, reasonLimit: Int? = nil) -> ResponseSchema {
        let key = SchemaKey(count: count, includeReason: includeReason, reasonLimit: reasonLimit)
        if let cached = built.withLock({ $0[key] }) { return cached }
        let schema = ResponseSchema(name: name, schema: schema(count: count, includeReason: includeReason, reasonLimit: reasonLimit), strict: true)
        built.withLock { $0[key] = schema }
        return schema
    }

    private struct SchemaKey: Hashable { var count: Int; var includeReason: Bool; var reasonLimit: Int? }
    private static let built = Mutex<[SchemaKey: ResponseSchema]>([:])
}

extension ChunkAnswerSchema {
    /// An answer in the output contract's shape, for providers written in Swift: one entry per
    /// item, in order, with `index` from 1, the 8 values, and the reason when given.
    public static func answer(_ entries: [(values: [Double], reason: String?)]) -> String {
        let items: [JSONValue] = entries.enumerated().map { i, entry in
            var object: JSONObject = ["index": .int(i + 1)]
            for emotion in Emotion.allCases { object[emotion.name] = .double(entry.values[emotion.rawValue]) }
            if let reason = entry.reason { object["reason"] = .string(reason) }
            return .object(object)
        }
        return JSONValue.object(["items": .array(items)]).description
    }
}

extension CompletionRequest {
    /// Whether the response schema asks for a `reason` per item (the prompt version's choice).
    public var asksForReason: Bool {
        responseSchema?.schema["properties"]?["items"]?["items"]?["properties"]?["reason"] != nil
    }
}
