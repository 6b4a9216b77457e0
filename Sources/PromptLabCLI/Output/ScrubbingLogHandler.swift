import Foundation
import LLMKit
import Logging

/// Log lines on stderr, `label: level: message`, scrubbed of registered secrets
/// (``SecretRedactor``) so no log line can carry an API key.
struct ScrubbingLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let text = "\(label): \(event.level): \(event.message)\n"
        FileHandle.standardError.write(Data(SecretRedactor.shared.scrub(text).utf8))
    }
}
