import Testing
@testable import OpusCodec

@Test func opusCodecBuilds() { _ = OpusCodecModule.self }
