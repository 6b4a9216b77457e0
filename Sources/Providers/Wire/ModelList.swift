import Foundation
import LLMKit

/// The model lists the built-in providers read for ``ModelListing``: `GET` the first page,
/// then each next page a page names, at most ``maximumPages`` pages (a list longer than that
/// is an error, not a partial list).
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
        // A partial list could miss the model asked for: no answer rather than a wrong one.
        if page != nil {
            throw LLMError(.serverError, "\(url) named a next page after \(maximumPages) pages of models; the list was not read to its end.",
                           context: .init(provider: provider))
        }
        return listed
    }

    /// ASCII letters and digits: what a query value keeps as it is.
    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    /// `value` with every character outside ASCII letters and digits percent-encoded, for a query.
    static func query(_ value: String) -> String { value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value }
}
