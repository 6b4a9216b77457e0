import Foundation
import LLMKit

/// The model lists the built-in providers read for ``ModelListing``: `GET` the first page,
/// then each next page a page names, at most ``maximumPages`` pages.
enum ModelList {
    /// Pages read at most (a server that keeps naming a next page is cut off there).
    static let maximumPages = 20

    /// The names listed from `url` on: `names` reads a page's names (`nil`: the page is not a
    /// model list), `next` the URL of the page after it (`nil`: the last page). Throws
    /// ``LLMError`` with the HTTP status in its context when a page is not a model list.
    static func fetch(provider: String, url: String, headers: [(name: String, value: String)], transport: any HTTPTransport,
                      names: (JSONValue) -> [String]?, next: (JSONValue) -> String? = { _ in nil }) async throws(LLMError) -> [String] {
        var listed: [String] = []
        var page: String? = url
        for _ in 0..<maximumPages {
            guard let current = page else { break }
            let response = try await LLMError.wrapping(provider: provider) {
                try await transport.send(HTTPRequest(method: "GET", url: current, headers: headers, timeout: .seconds(10)))
            }
            guard response.status == 200, let value = try? StrictJSON.parse(bytes: response.body), let found = names(value) else {
                throw LLMError(response.status >= 500 ? .serverError : .badRequest, "\(current) did not list models (HTTP \(response.status)).",
                               context: .init(provider: provider, httpStatus: response.status))
            }
            listed += found
            page = next(value)
        }
        return listed
    }

    /// `value` with every character outside letters and digits percent-encoded, for a query.
    static func query(_ value: String) -> String { value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value }
}
