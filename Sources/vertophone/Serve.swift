import ArgumentParser
import Dispatch
import Foundation
import NIOSSL
import VertoPhone

/// The server role with the built-in applications of the test contract (9196 echo, 9664 tone,
/// 9197 DTMF, 9198 early media, 9195 delayed answer, 9199 hangup, 1000–1002 bridge).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Verto server role (default ws://127.0.0.1:5066/).")

    @OptionGroup var output: OutputOptions

    @Option(help: "Bind address (default 127.0.0.1: loopback unless told otherwise). Overrides the config file.")
    var host: String?

    @Option(help: "Port (default 5066, the port Webitel/Creatio web phones use). Overrides the config file.")
    var port: Int?

    @Option(help: "Users file (`vertophone adduser` writes its lines). Without it the demo users 1000–1002 / verto-test are used, on loopback only.")
    var users: String?

    @Option(help: "PEM certificate chain for wss.")
    var tlsCert: String?

    @Option(help: "PEM private key for wss.")
    var tlsKey: String?

    @Option(help: "Address media sockets bind to and advertise (default 127.0.0.1). Overrides the config file.")
    var mediaHost: String?

    @Option(help: "JSON config file: host, port, mediaHost, users (file), tlsCert, tlsKey, routes {\"9196\": \"echo\", \"5000\": \"tone 800\"}. Options given on the command line win.")
    var config: String?

    @Option(help: "Stop after this many seconds (0 = run until interrupted).")
    var duration: Double = 0

    func run() async throws {
        output.bootstrapLogging()
        let tl = Timeline(json: output.json)
        var file: ServerConfigFile?
        if let config { file = try ServerConfigFile(json: Data(contentsOf: URL(fileURLWithPath: config))) }
        let users = self.users ?? file?.usersFile
        // The command line wins over the file, the file over the defaults.
        let host = self.host ?? file?.host ?? "127.0.0.1", port = self.port ?? file?.port ?? 5066
        let mediaHost = self.mediaHost ?? file?.mediaHost ?? "127.0.0.1"
        let tlsCert = self.tlsCert ?? file?.tlsCert, tlsKey = self.tlsKey ?? file?.tlsKey
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
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ValidationError("--tls-cert and --tls-key go together (wss needs both)")
        }
        if let tlsCert, let tlsKey {
            config.tls = try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(tlsCert).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: tlsKey, format: .pem))))
        }
        if config.tls == nil, !VertoEndpoint.isLoopback(host) {
            tl.log("warning", ["message": "plain ws on \(host): logins and calls cross the network unencrypted (give --tls-cert and --tls-key)"])
        }
        let endpoint = try await VertoEndpoint.start(configuration: config)
        tl.log("listening", ["url": "\(config.tls == nil ? "ws" : "wss")://\(host):\(endpoint.port)/",
                             "users": users == nil ? "demo 1000-1002 (loopback only)" : "\(directory.entries.count) from \(users!)"])
        let watcher = Task {
            for await e in endpoint.events {
                switch e {
                case .loggedIn(let user, _): tl.log("login", ["user": user])
                case .loginRejected(let login): tl.log("login rejected", ["login": login])
                case .newWebRTCCall(let info, _):
                    tl.log("new call", ["callID": info.callID, "destination": info.destination, "from": info.callerIDNumber ?? "-",
                                        "direction": info.outbound ? "to client" : "from client"])
                case .answered(let id): tl.log("answered", ["callID": id])
                case .hold(let id, let held): tl.log(held ? "hold" : "unhold", ["callID": id])
                case .dtmf(let id, let d): tl.log("dtmf", ["callID": id, "digits": d])
                case .bridged(let a, let b): tl.log("bridged", ["callID": a, "other": b])
                case .ended(let id, let cause): tl.log("ended", ["callID": id, "cause": cause.name])
                case .disconnected: tl.log("disconnected")
                }
            }
        }
        // Runs until SIGINT or SIGTERM (or --duration): then every call gets verto.bye
        // (MANAGER_REQUEST), the sockets close and the process exits 0.
        let reason = await Serve.waitForStop(duration: duration)
        tl.log("stopping", ["reason": reason])
        try await endpoint.stop()
        watcher.cancel()
        tl.log("stopped")
    }

    /// "SIGINT", "SIGTERM" or "duration", whichever comes first.
    static func waitForStop(duration: Double) async -> String {
        let (signals, continuation) = AsyncStream.makeStream(of: String.self)
        var sources: [DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)  // delivered to the dispatch source instead of ending the process
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        return await withTaskGroup(of: String?.self) { group in
            group.addTask {
                for await name in signals { return name }
                return nil
            }
            if duration > 0 {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(Int(duration * 1000)))
                    return "duration"
                }
            }
            let first = await group.next() ?? nil
            continuation.finish()
            group.cancelAll()
            return first ?? "duration"
        }
    }
}

/// Prints a users-file line with a PBKDF2 hash of the password (read from stdin).
struct AddUser: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a users-file line for a user; the password is read from standard input.")

    @Option(help: "User id (the part before @ in the login).")
    var id: String

    @Option(help: "Display name.")
    var name: String?

    func run() throws {
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            throw ValidationError("give the password on standard input")
        }
        print(UserDirectory.fileLine(try UserDirectory.makeEntry(id: id, password: password, displayName: name)))
    }
}
