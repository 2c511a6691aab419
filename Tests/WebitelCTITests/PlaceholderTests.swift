import Testing
@testable import WebitelCTI

@Test func webitelCTIBuilds() { _ = WebitelCTIModule.self }
