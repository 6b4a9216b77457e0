extension EmotionDistribution {
    /// The distribution as a JSON object with the 8 emotion keys in order.
    public var jsonObject: JSONValue { Self.jsonObject(values) }

    /// Any 8 values as a JSON object with the emotion keys in order.
    public static func jsonObject(_ values: [Double]) -> JSONValue {
        var object = JSONObject()
        for emotion in Emotion.allCases { object[emotion.name] = .double(values[emotion.rawValue]) }
        return .object(object)
    }

    /// Reads 8 raw values from a JSON object keyed by emotion names (any name of the alias
    /// table, ``Emotion/init(anyName:)``: `angry`, `Anger`, `Happy`, `joy`; absent keys are 0)
    /// or an array of 8 numbers. Throws a message naming the bad key.
    public static func rawValues(from value: JSONValue) throws(DistributionParseError) -> [Double] {
        switch value {
        case .object(let object):
            var values = [Double](repeating: 0, count: Emotion.count)
            var keys: [Emotion: String] = [:]
            for (key, member) in object {
                guard let emotion = Emotion(key: key) ?? Emotion(anyName: key) else {
                    throw DistributionParseError("unknown emotion key '\(key)' (accepted, any case: \(Emotion.acceptedNames))")
                }
                if let earlier = keys.updateValue(key, forKey: emotion) {
                    throw DistributionParseError("'\(earlier)' and '\(key)' both name \(emotion.name)")
                }
                guard let number = member.doubleValue else { throw DistributionParseError("'\(key)' is \(member.typeName), not a number") }
                values[emotion.rawValue] = number
            }
            return values
        case .array(let elements):
            guard elements.count == Emotion.count else { throw DistributionParseError("expected 8 numbers, found \(elements.count)") }
            var values: [Double] = []
            for (i, element) in elements.enumerated() {
                guard let number = element.doubleValue else { throw DistributionParseError("element \(i) is \(element.typeName), not a number") }
                values.append(number)
            }
            return values
        default:
            throw DistributionParseError("expected an object of emotion values or an array of 8 numbers, found \(value.typeName)")
        }
    }
}

/// Why a JSON value is not a distribution.
public struct DistributionParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
