import Testing

/// The fault server's own tests, one at a time: several of them stream at full speed or keep
/// the server busy for seconds, and the timing-sensitive tests elsewhere (0.3 s client
/// timeouts) run beside them on a 2-core machine.
@Suite(.serialized) struct FaultServerSelfTests {}
