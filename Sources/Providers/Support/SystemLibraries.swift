internal import CCurl

/// Versions of the C libraries this build is linked against, for `--version` and bug reports.
public enum SystemLibraries {
    /// libcurl's version and TLS backend, e.g. `libcurl 7.88.1 (OpenSSL/3.0.15)`.
    public static var curl: String {
        guard let info = llmkit_curl_version_info() else { return "libcurl (unknown)" }
        let version = info.pointee.version.map { String(cString: $0) } ?? "?"
        let ssl = info.pointee.ssl_version.map { String(cString: $0) } ?? "no TLS"
        return "libcurl \(version) (\(ssl))"
    }
}
