import Foundation
import NIOCore

/// The CPUs this process may run on. SwiftNIO sizes its shared group by the machine's (or the
/// cgroup's) cores and ignores the affinity mask, so a server started under `taskset -c 0` would
/// spread its calls over loops that all share one CPU and pay for the thread switches.
enum ProcessorAffinity {
    static let count: Int = {
        // Linux: the "Cpus_allowed" mask of proc(5)'s status file, hexadecimal words with commas.
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) else {
            return System.coreCount
        }
        let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
        let n = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
        return n > 0 ? min(n, System.coreCount) : System.coreCount
    }()
}
