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

    /// The message as chat-completions JSON (`{"role", "content"}`): the one encoding the
    /// canonical request and the wire bodies share.
    public var json: JSONValue { ["role": .string(role.rawValue), "content": .string(content)] }
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
/// so the canonical encoding can be written to fixtures and cache files as it is. A relabel
/// request also carries its chunk's ``items`` in structured form, so a provider written in
/// Swift need not parse the prompt text; they are not part of the canonical encoding (the
/// messages already say the same).
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
    /// The chunk's items, in order (index 1 is `items[0]`), when the request relabels a chunk.
    public var items: [DatasetItem] = []
    /// Completion mode: text to continue as it is (no chat template), instead of
    /// ``messages``. With ``topTokens``, the way a `logprob` method asks for the next token.
    public var prompt: String?
    /// Ask for this many of the most likely next tokens with their log-probabilities
    /// (``CompletionResponse/nextTokens``); the answer is one token long.
    public var topTokens: Int?

    /// A next-token request: the `topTokens` most likely continuations of `prompt` (completion
    /// mode, one token, temperature 0).
    public static func nextToken(model: String, prompt: String, topTokens: Int) -> CompletionRequest {
        var request = CompletionRequest(model: model, messages: [], temperature: 0, maxTokens: 1)
        request.prompt = prompt
        request.topTokens = topTokens
        return request
    }

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
        object["messages"] = .array(messages.map(\.json))
        if let s = responseSchema {
            object["response_schema"] = ["name": .string(s.name), "schema": s.schema, "strict": .bool(s.strict)]
        }
        if let temperature { object["temperature"] = .double(temperature) }
        if let seed { object["seed"] = .int(seed) }
        if let maxTokens { object["max_tokens"] = .int(maxTokens) }
        if let prompt { object["prompt"] = .string(prompt) }
        if let topTokens { object["top_tokens"] = .int(topTokens) }
        return .object(object)
    }

    /// The canonical encoding: sorted keys, no whitespace, stable numbers.
    public var canonicalEncoding: String { canonicalJSON.canonicalString }

    /// Lower-case hex SHA-256 of ``canonicalEncoding``: the key for fixtures and the response cache.
    public var canonicalHash: String { Self.sha256Hex(canonicalEncoding) }

    /// Lower-case hex SHA-256 of a string's UTF-8 bytes.
    package static func sha256Hex(_ text: String) -> String {
        SHA256Hex.of(Array(text.utf8))
    }
}

/// Hex SHA-256 digests, whole or streamed (for dataset fingerprints).
package struct SHA256Hex {
    private var hasher = SHA256()
    package init() {}
    package mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }
    package func finalize() -> String { Self.hex(hasher.finalize()) }
    package static func of(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }
    private static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
