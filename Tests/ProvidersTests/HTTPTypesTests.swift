import Testing
@testable import Providers

@Suite struct HTTPTypesTests {
    @Test func responseHeadersAreCaseInsensitive() {
        let response = HTTPResponse(status: 429, headers: ["Retry-After": "2", "X-Request-Id": "abc"])
        #expect(response.header("retry-after") == "2")
        #expect(response.header("X-REQUEST-ID") == "abc")
        #expect(response.header("missing") == nil)
    }

    @Test func linkedLibcurlReportsItsVersionAndTLS() {
        let text = SystemLibraries.curl
        #expect(text.hasPrefix("libcurl 7.") || text.hasPrefix("libcurl 8."))
        #expect(text.contains("OpenSSL"))
    }
}
