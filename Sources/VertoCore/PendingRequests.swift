import NIOCore

/// Requests awaiting a reply, each with a deadline (docs/verto-protocol.md §9: request timeouts surface as
/// typed errors). Generic over what the owner wants back when the reply (or the timeout) comes.
public struct PendingRequests<Context: Sendable>: Sendable {
    public struct Entry: Sendable {
        public var id: JSONRPCID
        public var method: String
        public var deadline: NIODeadline
        public var context: Context
    }

    private var entries: [JSONRPCID: Entry] = [:]

    public init() {}

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public mutating func add(id: JSONRPCID, method: String, deadline: NIODeadline, context: Context) {
        entries[id] = Entry(id: id, method: method, deadline: deadline, context: context)
    }

    /// Removes and returns the entry for a reply's id.
    public mutating func complete(_ id: JSONRPCID) -> Entry? { entries.removeValue(forKey: id) }

    public func contains(_ id: JSONRPCID) -> Bool { entries[id] != nil }

    public var nextDeadline: NIODeadline? { entries.values.map(\.deadline).min() }

    /// Removes and returns every entry whose deadline is at or before `now`, oldest deadline first.
    public mutating func expire(now: NIODeadline) -> [Entry] {
        let due = entries.values.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
        for e in due { entries[e.id] = nil }
        return due
    }

    /// Removes and returns everything (connection lost), in id order for determinism.
    public mutating func removeAll() -> [Entry] {
        let all = entries.values.sorted { $0.deadline < $1.deadline || ($0.deadline == $1.deadline && $0.id.description < $1.id.description) }
        entries.removeAll()
        return all
    }
}
