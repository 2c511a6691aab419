import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A network namespace made for one test with iproute2 (needs root, as CI has): a veth pair
/// whose outer end is `outerAddress` and inner end `innerAddress` (a /24), no default route inside,
/// and optionally addresses on the outer loopback interface the namespace has *no* route to.
/// `run` executes a command inside it. `remove()` deletes everything.
public final class NetworkNamespace: @unchecked Sendable {
    // @unchecked: immutable after init; `removed` is guarded by `lock`.
    public struct Failure: Error, CustomStringConvertible { public var description: String }

    public let name: String
    public let outerAddress: String
    public let innerAddress: String
    /// Outside addresses (on the outer `lo`) with no route from inside.
    public let unreachableAddresses: [String]
    private let veth: String
    /// The outer end of the veth pair.
    public var outerInterface: String { veth }
    /// The namespace's end of the veth pair.
    public var innerInterface: String { "\(veth)i" }
    private let lock = NSLock()
    private var removed = false

    /// Whether this process may create namespaces (root with iproute2).
    public static var isAvailable: Bool { getuid() == 0 && Shell.run("ip netns list >/dev/null 2>&1") == 0 }

    /// `index` (1...250) keeps concurrent namespaces apart: 10.77.<index>.0/24 and 10.78.<index>.1.
    public init(index: Int, unreachable: Int = 0) throws {
        let tag = "\(getpid() % 10_000)x\(index)"
        name = "vp-\(tag)"
        veth = "vpv\(tag)"
        outerAddress = "10.77.\(index).1"
        innerAddress = "10.77.\(index).2"
        unreachableAddresses = (0..<unreachable).map { "10.78.\(index).\($0 + 1)" }
        let inner = "\(veth)i"
        var commands = [
            "ip netns add \(name)",
            "ip link add \(veth) type veth peer name \(inner)",
            "ip link set \(inner) netns \(name)",
            "ip addr add \(outerAddress)/24 dev \(veth)",
            "ip link set \(veth) up",
            "ip netns exec \(name) ip addr add \(innerAddress)/24 dev \(inner)",
            "ip netns exec \(name) ip link set \(inner) up",
            "ip netns exec \(name) ip link set lo up",
        ]
        // On the outer loopback interface (containers often lack the dummy link type).
        commands += unreachableAddresses.map { "ip addr add \($0)/32 dev lo" }
        for c in commands {
            let status = Shell.run(c + " 2>/dev/null")
            if status != 0 {
                remove()
                throw Failure(description: "\(c) failed (\(status))")
            }
        }
    }

    /// Runs `command` (a shell line) inside the namespace; returns its status and standard output.
    public func run(_ command: String, timeout: Duration = .seconds(60)) async -> (status: Int32, output: String) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(6)).out").path
        let seconds = Int(timeout.components.seconds)
        let line = "timeout \(seconds) ip netns exec \(name) \(command) >'\(out)' 2>&1 </dev/null"
        let status = await Shell.runDetached(line)
        let output = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: out)
        return (status, output)
    }

    public func remove() {
        let go: Bool = lock.withLock {
            defer { removed = true }
            return !removed
        }
        guard go else { return }
        let addresses = unreachableAddresses.map { "ip addr del \($0)/32 dev lo 2>/dev/null; " }.joined()
        _ = Shell.run("ip netns del \(name) 2>/dev/null; ip link del \(veth) 2>/dev/null; \(addresses)true")
    }

    deinit { remove() }
}
