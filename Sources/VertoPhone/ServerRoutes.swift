import CallCore
import Foundation

/// The routes live in the call-control core; these names keep the engine's API in one module.
public typealias ServerRoute = CallCore.ServerRoute
public typealias ServerRoutingTable = CallCore.ServerRoutingTable

/// The `vertophone serve --config FILE` file (JSON): every key optional.
/// `{"host": "127.0.0.1", "port": 5066, "mediaHost": "127.0.0.1", "users": "users.txt",
///   "routes": {"9196": "echo", "9664": "tone 1000"}, "replaceDefaultRoutes": false}`
public struct ServerConfigFile: Sendable, Equatable {
    public var host: String?
    public var port: Int?
    public var mediaHost: String?
    public var usersFile: String?
    /// PEM certificate chain and private key for wss (both or neither).
    public var tlsCert: String?
    public var tlsKey: String?
    public var routing: ServerRoutingTable
    /// `HOST:PORT` of the Prometheus scrape endpoint (`vertophone serve --metrics`).
    public var metrics: String?
    /// The media address written in SDP (a server behind a NAT), and the media port range
    /// ("16384-32768").
    public var externalIP: String?
    public var rtpPorts: ClosedRange<Int>?

    /// "LOW-HIGH" → LOW...HIGH within 1...65535.
    public static func portRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let low = parts[0], let high = parts[1], 1 <= low, low <= high, high <= 65_535 else { return nil }
        return low...high
    }

    /// The keys a config file may have; any other is an error (a typo must not pass silently).
    public static let keys: Set<String> = ["host", "port", "mediaHost", "users", "tlsCert", "tlsKey", "routes",
                                           "replaceDefaultRoutes", "metrics", "externalIP", "rtpPorts"]

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSONObject
        case unknownKey(String)
        case badField(String)
        case badRoute(destination: String, value: String)
        public var description: String {
            switch self {
            case .notJSONObject: return "the config file is not a JSON object"
            case .unknownKey(let k): return "unknown key \"\(k)\" in the config file (known: \(ServerConfigFile.keys.sorted().joined(separator: ", ")))"
            case .badField(let f): return "bad value for \(f)"
            case .badRoute(let d, let v): return "bad route for \(d): \(v)"
            }
        }
    }

    public init(json: Data) throws(ParseError) {
        guard let obj = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else { throw .notJSONObject }
        if let unknown = obj.keys.sorted().first(where: { !Self.keys.contains($0) }) { throw .unknownKey(unknown) }
        func string(_ k: String) throws(ParseError) -> String? {
            guard let v = obj[k] else { return nil }
            guard let s = v as? String else { throw .badField(k) }
            return s
        }
        host = try string("host")
        mediaHost = try string("mediaHost")
        usersFile = try string("users")
        tlsCert = try string("tlsCert")
        tlsKey = try string("tlsKey")
        metrics = try string("metrics")
        externalIP = try string("externalIP")
        if let r = try string("rtpPorts") {
            guard let range = Self.portRange(r) else { throw .badField("rtpPorts") }
            rtpPorts = range
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw .badField(tlsCert == nil ? "tlsCert" : "tlsKey") }
        if let p = obj["port"] {
            guard let n = p as? Int, (0...65535).contains(n) else { throw .badField("port") }
            port = n
        }
        var table = (obj["replaceDefaultRoutes"] as? Bool ?? false) ? ServerRoutingTable(routes: [:]) : .testContract
        if let r = obj["routes"] {
            guard let routes = r as? [String: Any] else { throw .badField("routes") }
            for (dest, value) in routes {
                guard let s = value as? String, let route = ServerRoute(configValue: s) else {
                    throw .badRoute(destination: dest, value: "\(value)")
                }
                table.routes[dest] = route
            }
        }
        routing = table
    }
}
