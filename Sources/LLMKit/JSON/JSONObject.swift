/// The members of a JSON object, in the order they were written or inserted.
///
/// Lookup is by key; equality ignores member order, as JSON does. Keys are unique:
/// setting an existing key replaces its value in place.
public struct JSONObject: Sendable, Hashable, Sequence {
    private var orderedKeys: [String] = []
    private var storage: [String: JSONValue] = [:]

    /// An empty object.
    public init() {}

    /// An object from key-value pairs; a repeated key keeps its last value at its first position.
    public init<S: Sequence>(_ members: S) where S.Element == (String, JSONValue) {
        for (k, v) in members { self[k] = v }
    }

    /// The keys in insertion order.
    public var keys: [String] { orderedKeys }
    /// The number of members.
    public var count: Int { orderedKeys.count }
    /// Whether the object has no members.
    public var isEmpty: Bool { orderedKeys.isEmpty }

    /// The value for `key`; setting `nil` removes the member.
    public subscript(key: String) -> JSONValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { orderedKeys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                orderedKeys.removeAll { $0 == key }
            }
        }
    }

    public func makeIterator() -> AnyIterator<(key: String, value: JSONValue)> {
        var index = 0
        return AnyIterator {
            guard index < orderedKeys.count else { return nil }
            defer { index += 1 }
            let key = orderedKeys[index]
            return (key, storage[key]!)
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool { lhs.storage == rhs.storage }
    public func hash(into hasher: inout Hasher) { hasher.combine(storage) }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// An object from a literal, keeping the literal's key order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}
