import Testing
@testable import MediaCore

@Test func mediaCoreBuilds() { _ = (any AudioEncoder).self }
