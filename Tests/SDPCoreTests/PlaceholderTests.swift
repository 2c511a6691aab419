import Testing
@testable import SDPCore

@Test func sDPCoreBuilds() { _ = SDPParser.self }
