import NIOCore
import Testing
@testable import VertoCore

@Suite struct LoginThrottleTests {
    @Test func failuresBeyondTheFreeOnesBlockForADoublingDelayUpToTheCap() {
        var p = LoginThrottle.Policy()
        p.freeFailures = 3
        p.baseDelay = .seconds(1)
        p.maxDelay = .seconds(8)
        var t = LoginThrottle(policy: p)
        let keys = ["user:1000", "addr:127.0.0.1"]
        for i in 0..<3 {
            t.recordFailure(keys, now: at(Int64(i)))
            #expect(t.blockedUntil(keys, now: at(Int64(i))) == nil, "failure \(i + 1) is free")
        }
        t.recordFailure(keys, now: at(100))
        #expect(t.blockedUntil(keys, now: at(100)) == at(1_100))
        #expect(t.blockedUntil(keys, now: at(1_100)) == nil)
        t.recordFailure(keys, now: at(2_000))
        #expect(t.blockedUntil(keys, now: at(2_000)) == at(4_000))
        t.recordFailure(keys, now: at(5_000))
        t.recordFailure(keys, now: at(10_000))
        t.recordFailure(keys, now: at(20_000))
        #expect(t.blockedUntil(keys, now: at(20_000)) == at(28_000), "capped at maxDelay")
    }

    @Test func aBlockedUserIsBlockedFromEveryAddressAndSuccessClears() {
        var p = LoginThrottle.Policy()
        p.freeFailures = 0
        var t = LoginThrottle(policy: p)
        t.recordFailure(["user:1000", "addr:10.0.0.1"], now: at(0))
        #expect(t.blockedUntil(["user:1000", "addr:10.0.0.2"], now: at(10)) != nil)
        #expect(t.blockedUntil(["user:1001", "addr:10.0.0.2"], now: at(10)) == nil)
        t.recordSuccess(["user:1000", "addr:10.0.0.1"])
        #expect(t.blockedUntil(["user:1000", "addr:10.0.0.1"], now: at(10)) == nil)
    }

    @Test func failuresAreForgottenAndKeysAreBounded() {
        var p = LoginThrottle.Policy()
        p.freeFailures = 1
        p.forgetAfter = .seconds(60)
        p.maxKeys = 100
        var t = LoginThrottle(policy: p)
        t.recordFailure(["user:x"], now: at(0))
        t.recordFailure(["user:x"], now: at(61_000))
        #expect(t.blockedUntil(["user:x"], now: at(61_000)) == nil, "the first failure was forgotten: this is the free one again")
        for i in 0..<1_000 { t.recordFailure(["user:made-up-\(i)"], now: at(70_000 + Int64(i))) }
        #expect(t.count <= 100)
    }
}
