import Testing
import VertoPhone

/// Our server on an ephemeral loopback port with the demo users (1000–1002, `verto-test`) and the
/// test-contract routes; `configure` adjusts the rest.
public func startEndpoint(_ configure: (inout VertoEndpointConfiguration) -> Void = { _ in }) async throws -> VertoEndpoint {
    var config = VertoEndpointConfiguration(users: .demo())
    config.port = 0
    configure(&config)
    return try await VertoEndpoint.start(configuration: config)
}

/// A client of `user` on `endpoint` (not connected yet), media on 127.0.0.1.
public func client(_ endpoint: VertoEndpoint, user: String = "1001", password: String = "verto-test",
                   sessid: String? = nil) -> VertoClient {
    var o = VertoClientOptions(url: "ws://127.0.0.1:\(endpoint.port)/", login: "\(user)@127.0.0.1", password: password)
    o.mediaHost = "127.0.0.1"
    o.callerIDNumber = user
    o.callerIDName = "User \(user)"
    o.sessid = sessid
    o.connectTimeout = .seconds(15)
    return VertoClient(options: o)
}

/// User 1001 logged in to `endpoint`, in an answered call to the echo extension 9196 sending
/// `frequency`, whose echo has been heard (an expectation of the calling test).
public func echoCall(_ endpoint: VertoEndpoint, frequency: Double = 440) async throws -> (VertoClient, Call) {
    let c = client(endpoint)
    try await c.connect()
    let call = try await c.call("9196", source: .tone(frequencies: [frequency], amplitude: 0.3))
    try await call.wait { $0 == .active }
    #expect(try await hears(call.media, frequency), "the echo of \(frequency) Hz")
    return (c, call)
}
