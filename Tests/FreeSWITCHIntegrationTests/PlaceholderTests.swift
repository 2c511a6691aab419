import Testing

@Test func freeSWITCHSuitePlaceholder() { #expect(Bool(true)) }
