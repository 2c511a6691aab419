import Testing
@testable import SRTPCore

@Test func sRTPCoreBuilds() { _ = SRTPCoreModule.self }
