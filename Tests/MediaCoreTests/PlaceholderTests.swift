import Testing
@testable import MediaCore

@Test func mediaCoreBuilds() { _ = MediaCoreModule.self }
