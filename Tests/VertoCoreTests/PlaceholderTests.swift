import Testing
@testable import VertoCore

@Test func vertoCoreBuilds() { _ = VertoCoreModule.self }
