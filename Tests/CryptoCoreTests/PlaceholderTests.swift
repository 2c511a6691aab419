import Testing
@testable import CryptoCore

@Test func cryptoCoreBuilds() { _ = CryptoCoreModule.self }
