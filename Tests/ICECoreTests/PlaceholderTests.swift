import Testing
@testable import ICECore

@Test func iceCoreBuilds() { _ = ICECoreModule.self }
