import Testing
@testable import VertoPhone

/// Event streams with any number of consumers: each gets every event, in order, starting with the
/// history; a consumer that stops reading loses nothing and holds up nobody.
@Suite struct EventHubTests {
    func collect(_ s: AsyncStream<Int>) async -> [Int] {
        var out: [Int] = []
        for await e in s { out.append(e) }
        return out
    }

    @Test func everyConsumerGetsEveryEventInOrder() async {
        let hub = EventHub<Int>(historyLimit: 100)
        let a = hub.stream(), b = hub.stream()
        for i in 1...50 { hub.yield(i) }
        hub.finish()
        #expect(await collect(a) == Array(1...50))
        #expect(await collect(b) == Array(1...50))
    }

    @Test func aLateConsumerStartsWithTheHistory() async {
        let hub = EventHub<Int>(historyLimit: 3)
        for i in 1...5 { hub.yield(i) }
        let late = hub.stream()
        let fromNow = hub.stream(replayingHistory: false)
        hub.yield(6)
        hub.finish()
        #expect(await collect(late) == [3, 4, 5, 6], "the latest three, then the new one")
        #expect(await collect(fromNow) == [6])
        #expect(await collect(hub.stream()) == [4, 5, 6], "after finish: the history, then the end")
        hub.yield(7)
        #expect(await collect(hub.stream()) == [4, 5, 6], "nothing after finish")
    }

    @Test func aConsumerThatWentAwayIsForgotten() async {
        let hub = EventHub<Int>(historyLimit: 10)
        let reader = Task {
            var n = 0
            for await _ in hub.stream() { n += 1; if n == 2 { break } }
            return n
        }
        let stays = hub.stream()
        for i in 1...3 { hub.yield(i) }
        #expect(await reader.value == 2)
        #expect(hub.consumerCount == 1, "the reader that stopped is no longer fed")
        var it = stays.makeAsyncIterator()
        #expect(await it.next() == 1)
        hub.finish()
        #expect(hub.consumerCount == 0)
    }
}
