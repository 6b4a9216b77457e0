internal import Crypto

/// One chat message.
public struct ChatMessage: Sendable, Hashable {
    /// `system`, `user` or `assistant`.
    public enum Role: String, Sendable, Hashable { case system, user, assistant }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
}

/// A JSON schema the answer must follow, sent to providers that can constrain decoding.
public struct ResponseSchema: Sendable, Hashable {
    /// A short name (OpenAI requires one: `[a-zA-Z0-9_-]{1,64}`).
    public var name: String
    /// The schema document.
    public var schema: JSONValue
    /// Ask for strict adherence (OpenAI `strict: true`).
    public var strict: Bool

    public init(name: String, schema: JSONValue, strict: Bool = true) {
        self.name = name
        self.schema = schema
        self.strict = strict
    }
}

/// What to ask a model, independent of any provider's wire format.
///
/// It holds no secrets: API keys and organisation ids live in the provider's configuration,
/// so the canonical encoding can be written to fixtures and cache files as it is.
public struct CompletionRequest: Sendable, Hashable {
    /// The model name as the provider knows it.
    public var model: String
    public var messages: [ChatMessage]
    /// The schema the answer must follow, if any.
    public var responseSchema: ResponseSchema?
    public var temperature: Double?
    public var seed: Int?
    /// Upper bound on generated tokens.
    public var maxTokens: Int?

    public init(model: String, messages: [ChatMessage], responseSchema: ResponseSchema? = nil,
                temperature: Double? = nil, seed: Int? = nil, maxTokens: Int? = nil) {
        self.model = model
        self.messages = messages
        self.responseSchema = responseSchema
        self.temperature = temperature
        self.seed = seed
        self.maxTokens = maxTokens
    }

    /// The request as a JSON value with only the fields that are set; absent and `null` are the same.
    public var canonicalJSON: JSONValue {
        var object = JSONObject()
        object["model"] = .string(model)
        object["messages"] = .array(messages.map { ["role": .string($0.role.rawValue), "content": .string($0.content)] })
        if let s = responseSchema {
            object["response_schema"] = ["name": .string(s.name), "schema": s.schema, "strict": .bool(s.strict)]
        }
        if let temperature { object["temperature"] = .double(temperature) }
        if let seed { object["seed"] = .int(seed) }
        if let maxTokens { object["max_tokens"] = .int(maxTokens) }
        return .object(object)
    }

    /// The canonical encoding: sorted keys, no whitespace, stable numbers.
    public var canonicalEncoding: String { canonicalJSON.canonicalString }

    /// Lower-case hex SHA-256 of ``canonicalEncoding``: the key for fixtures and the response cache.
    public var canonicalHash: String { Self.sha256Hex(canonicalEncoding) }

    /// Lower-case hex SHA-256 of a string's UTF-8 bytes.
    public static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
