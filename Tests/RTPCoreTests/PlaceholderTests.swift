import Testing
@testable import RTPCore

@Test func rTPCoreBuilds() { _ = RTPCoreModule.self }
