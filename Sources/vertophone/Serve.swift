import ArgumentParser
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import NIOSSL
import Prometheus
import ServiceLifecycle
import VertoPhone

/// The server role with the built-in applications of the test contract (9196 echo, 9664 tone,
/// 9197 DTMF, 9198 early media, 9195 delayed answer, 9199 hangup, 1000–1002 bridge).
struct Serve: ReportingCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Verto server role (default ws://127.0.0.1:5066/).")

    @OptionGroup var output: OutputOptions

    @Option(help: "Bind address (default 127.0.0.1: loopback unless told otherwise). Also VERTOPHONE_HOST.")
    var host: String?

    @Option(help: "Port (default 5066, the port Webitel/Creatio web phones use). Also VERTOPHONE_PORT.")
    var port: Int?

    @Option(help: "Users file (`vertophone adduser` writes its lines). Without it the demo users 1000–1002 / verto-test are used, on loopback only.")
    var users: String?

    @Option(help: "PEM certificate chain for wss.")
    var tlsCert: String?

    @Option(help: "PEM private key for wss.")
    var tlsKey: String?

    @Option(help: "Address media sockets bind to and advertise (default 127.0.0.1). Also VERTOPHONE_MEDIA_HOST.")
    var mediaHost: String?

    @Option(help: "JSON config file: host, port, mediaHost, externalIP, rtpPorts (\"LOW-HIGH\"), users (file), tlsCert, tlsKey, metrics, routes {\"9196\": \"echo\", \"5000\": \"tone 800\"}, replaceDefaultRoutes. Unknown keys are an error. Precedence: command line > environment (VERTOPHONE_HOST, …) > file > defaults.")
    var config: String?

    @Option(help: "Stop after this many seconds (0 = run until interrupted).")
    var duration: Double = 0

    @Option(help: "Media address written in SDP when it differs from --media-host (a server behind a NAT that forwards the media ports to it). Also VERTOPHONE_EXTERNAL_IP.")
    var externalIP: String?

    @Option(help: "Media port range, LOW-HIGH (e.g. 16384-32768), for a firewall rule or a NAT's forwarded ports. Also VERTOPHONE_RTP_PORTS.")
    var rtpPorts: String?

    @Option(name: .customLong("ice-server"),
            help: "TURN/STUN server for the calls' media, repeatable: turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (answers then carry a relayed candidate).")
    var iceServers: [String] = []

    @Option(help: "TURN username (or VERTOPHONE_ICE_USERNAME).")
    var iceUsername: String?

    @Option(help: "TURN password (or VERTOPHONE_ICE_CREDENTIAL).")
    var iceCredential: String?

    @Flag(help: "Answer with relayed candidates only (needs --ice-server turn:…).")
    var relayOnly = false

    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 127.0.0.1:9464). Overrides the config file.")
    var metrics: String?

    @Option(help: "Opus encoder complexity 0-10 for the server's own audio (echo, tones, bridges): the capacity knob, 5 by default; 0 about doubles the calls a core encodes.")
    var opusComplexity: Int?

    @Option(help: "Event loops (threads) that carry call media, calls spread over them in turn (default: one per CPU the process may run on, e.g. under taskset).")
    var mediaThreads: Int?

    @Option(help: "First UDP port of the shared media ports (one per media thread, every call on a thread shares its port; default: any free ports). Not used with --rtp-ports, --ice-server or --media-socket-per-call.")
    var mediaPort: Int?

    @Flag(help: "A UDP socket per call leg instead of one shared port per media thread (as --rtp-ports, --ice-server imply).")
    var mediaSocketPerCall = false

    @Option(help: "WebSocket connections one client address may hold (64 by default; raise it for a load generator on one machine).")
    var maxConnectionsPerAddress: Int?

    func execute() async throws {
        let tl = Timeline(json: output.json)
        var file: ServerConfigFile?
        if let config { file = try ServerConfigFile(json: Data(contentsOf: URL(fileURLWithPath: config))) }
        // The command line wins over the environment (VERTOPHONE_HOST, …), the environment over the
        // file, the file over the defaults.
        let env = Serve.environment()
        var envPort: Int?
        if let p = env.port {
            guard let n = Int(p), (0...65_535).contains(n) else { throw ValidationError("VERTOPHONE_PORT must be a port number, not \(p)") }
            envPort = n
        }
        let users = self.users ?? env.users ?? file?.usersFile
        let host = self.host ?? env.host ?? file?.host ?? "127.0.0.1", port = self.port ?? envPort ?? file?.port ?? 5066
        let mediaHost = self.mediaHost ?? env.mediaHost ?? file?.mediaHost ?? "127.0.0.1"
        let tlsCert = self.tlsCert ?? env.tlsCert ?? file?.tlsCert, tlsKey = self.tlsKey ?? env.tlsKey ?? file?.tlsKey
        let metricsAddress = self.metrics ?? env.metrics ?? file?.metrics
        let externalIP = self.externalIP ?? env.externalIP ?? file?.externalIP
        var rtpPorts = file?.rtpPorts
        if let text = self.rtpPorts ?? env.rtpPorts {
            guard let range = ServerConfigFile.portRange(text) else { throw ValidationError("--rtp-ports takes LOW-HIGH, e.g. 16384-32768, not \(text)") }
            rtpPorts = range
        }
        if let externalIP, (try? SocketAddress(ipAddress: externalIP, port: 0)) == nil {
            throw ValidationError("--external-ip takes an IP address, not \(externalIP)")
        }
        let directory: UserDirectory
        if let users {
            directory = try UserDirectory(fileContents: String(contentsOfFile: users, encoding: .utf8))
            if let mode = (try? FileManager.default.attributesOfItem(atPath: users))?[.posixPermissions] as? Int, mode & 0o077 != 0 {
                tl.log("warning", ["message": "the users file \(users) is readable by other users (chmod 600 it)"])
            }
        } else {
            directory = .demo()
        }
        var config = VertoEndpointConfiguration(users: directory)
        if let file { config.routing = file.routing }
        config.host = host
        config.port = port
        config.mediaHost = mediaHost
        config.mediaExternalAddress = externalIP
        config.mediaPorts = rtpPorts
        if let maxConnectionsPerAddress {
            guard maxConnectionsPerAddress > 0 else { throw ValidationError("--max-connections-per-address must be > 0") }
            config.maxConnectionsPerAddress = maxConnectionsPerAddress
        }
        if let mediaThreads {
            guard mediaThreads >= 1 else { throw ValidationError("--media-threads takes 1 or more") }
            config.mediaEventLoops = mediaThreads
        }
        if let mediaPort {
            guard (1...65535).contains(mediaPort) else { throw ValidationError("--media-port takes 1 to 65535") }
        }
        config.mediaSockets = mediaSocketPerCall ? .perCall : .sharedPerLoop(firstPort: mediaPort ?? 0)
        if let opusComplexity {
            guard (0...10).contains(opusComplexity) else { throw ValidationError("--opus-complexity takes 0 to 10") }
            config.media.opus.complexity = opusComplexity
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together (wss needs both)")
        }
        if let tlsCert, let tlsKey {
            config.tls = try TLSServerIdentity(certificateFile: tlsCert, keyFile: tlsKey)
        }
        config.traceJSONRPC = output.traceJSONRPC
        let environment = ProcessInfo.processInfo.environment
        if !iceServers.isEmpty {
            config.iceServers = [ICEServer(urls: iceServers, username: iceUsername ?? environment["VERTOPHONE_ICE_USERNAME"],
                                           credential: iceCredential ?? environment["VERTOPHONE_ICE_CREDENTIAL"])]
        }
        if relayOnly { config.iceTransportPolicy = .relay }
        var exporter: Channel?
        if let metrics = metricsAddress {
            guard let (metricsHost, metricsPort) = MetricsExporter.parse(metrics) else {
                throw ValidationError("--metrics takes HOST:PORT, e.g. 127.0.0.1:9464")
            }
            // Before the engine makes its first metric.
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].map { .milliseconds($0) }
            MetricsSystem.bootstrap(factory)
            let channel = try await MetricsExporter.start(host: metricsHost, port: metricsPort, registry: registry)
            exporter = channel
            tl.log("metrics", ["scrapeURL": "http://\(metrics.contains("[") ? "[\(metricsHost)]" : metricsHost):\(channel.localAddress?.port ?? metricsPort)/metrics"])
        }
        if config.tls == nil, !VertoEndpoint.isLoopback(host) {
            tl.log("warning", ["message": "plain ws on \(host): logins and calls cross the network unencrypted (give --tls-cert and --tls-key)"])
        }
        // More media threads than the shared group has (one per core): a group of their own.
        var loops: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
        if let n = mediaThreads, n > System.coreCount { loops = MultiThreadedEventLoopGroup(numberOfThreads: n) }
        let endpoint = try await VertoEndpoint.start(configuration: config, group: loops, logger: Logger(label: "vertophone.server"))
        tl.log("listening", ["url": "\(config.tls == nil ? "ws" : "wss")://\(host):\(endpoint.port)/",
                             "users": users == nil ? "demo 1000-1002 (loopback only)" : "\(directory.entries.count) from \(users!)",
                             "mediaThreads": .integer(endpoint.mediaLoopCount),
                             "mediaPorts": .text(endpoint.mediaPorts.isEmpty ? "one per call" : endpoint.mediaPorts.map(String.init).joined(separator: ","))])
        let watcher = Task {
            for await e in endpoint.events {
                switch e {
                case .loggedIn(let user, _): tl.log("login", ["user": .text(user)])
                case .loginRejected(let login): tl.log("login rejected", ["login": .text(login)])
                case .newWebRTCCall(let info, _):
                    tl.log("new call", ["callID": .text(info.callID), "destination": .text(info.destination), "from": info.callerIDNumber.map { .text($0) } ?? .absent,
                                        "direction": info.outbound ? "to client" : "from client"])
                case .answered(let id): tl.log("answered", ["callID": .text(id)])
                case .hold(let id, let held): tl.log(held ? "hold" : "unhold", ["callID": .text(id)])
                case .dtmf(let id, let d): tl.log("dtmf", ["callID": .text(id), "digits": .text(d)])
                case .bridged(let a, let b): tl.log("bridged", ["callID": .text(a), "other": .text(b)])
                case .ended(let id, let cause): tl.log("ended", ["callID": .text(id), "cause": .text(cause.name)])
                case .disconnected: tl.log("disconnected")
                }
            }
        }
        // Runs until SIGINT or SIGTERM (or --duration), under swift-service-lifecycle: then every
        // call gets verto.bye (MANAGER_REQUEST), the sockets close and the process exits 0.
        let service = EndpointService(endpoint: endpoint, duration: duration, timeline: tl)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "vertophone.serve")))
        try await group.run()
        try? await exporter?.close()
        watcher.cancel()
        tl.log("stopped")
    }

    /// The settings the environment gives: VERTOPHONE_HOST, VERTOPHONE_PORT, VERTOPHONE_MEDIA_HOST,
    /// VERTOPHONE_USERS, VERTOPHONE_TLS_CERT, VERTOPHONE_TLS_KEY, VERTOPHONE_METRICS,
    /// VERTOPHONE_EXTERNAL_IP, VERTOPHONE_RTP_PORTS (empty = unset).
    static func environment(_ env: [String: String] = ProcessInfo.processInfo.environment)
        -> (host: String?, port: String?, mediaHost: String?, users: String?, tlsCert: String?, tlsKey: String?, metrics: String?,
            externalIP: String?, rtpPorts: String?) {
        func v(_ name: String) -> String? { env["VERTOPHONE_" + name].flatMap { $0.isEmpty ? nil : $0 } }
        return (v("HOST"), v("PORT"), v("MEDIA_HOST"), v("USERS"), v("TLS_CERT"), v("TLS_KEY"), v("METRICS"),
                v("EXTERNAL_IP"), v("RTP_PORTS"))
    }
}

/// The running server as a service of a `ServiceGroup`: it runs until the group shuts down
/// gracefully (a signal) or `duration` seconds pass, then stops the endpoint (every call gets
/// verto.bye, the connections close).
struct EndpointService: Service {
    let endpoint: VertoEndpoint
    let duration: Double
    let timeline: Timeline

    func run() async throws {
        let reason = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do { try await gracefulShutdown(); return "signal" } catch { return "cancelled" }
            }
            if duration > 0 {
                group.addTask {
                    do { try await Task.sleep(for: .milliseconds(Int(duration * 1000))); return "duration" } catch { return nil }
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? "cancelled"
        }
        timeline.log("stopping", ["reason": .text(reason)])
        try await endpoint.stop()
    }
}

/// Prints users-file lines with a PBKDF2 hash of the password (read from stdin): one user, or a
/// range of users with the same password (for load runs).
struct AddUser: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print users-file lines for a user or a range of users; the password is read from standard input.")

    @Option(help: "User id (the part before @ in the login), or LOW-HIGH for a range (e.g. 1000-1999).")
    var id: IDRange

    @Option(help: "Display name.")
    var name: String?

    @Option(help: "PBKDF2 iterations (each login costs one hash of this many).")
    var iterations = 10_000

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be ≥ 1") }
    }

    func run() throws {
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            throw ValidationError("give the password on standard input")
        }
        for user in id.values {
            print(UserDirectory.fileLine(try UserDirectory.makeEntry(id: user, password: password, displayName: name, iterations: iterations)))
        }
    }
}
