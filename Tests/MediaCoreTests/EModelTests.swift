import MediaCore
import Testing

/// The E-model against G.107's own reference points.
@Suite struct EModelTests {
    @Test func mosFromRatingFollowsAnnexB() {
        // G.107 Annex B: R 93.2 (defaults, no impairment) ↔ MOS 4.41; R 80 ↔ 4.02; R 50 ↔ 2.58.
        #expect(abs(EModel.mos(rating: 93.2) - 4.41) < 0.01)
        #expect(abs(EModel.mos(rating: 80) - 4.02) < 0.01)
        #expect(abs(EModel.mos(rating: 50) - 2.58) < 0.01)
        #expect(EModel.mos(rating: -5) == 1 && EModel.mos(rating: 120) == 4.5)
    }

    @Test func delayAndLossLowerTheRating() {
        let clean = EModel.rating(oneWayDelayMs: 0, packetLossPercent: 0, codec: .g711)
        #expect(clean == 93.2)
        // Delay: 0.024 per ms up to 177.3 ms, steeper after.
        #expect(abs(EModel.rating(oneWayDelayMs: 100, packetLossPercent: 0, codec: .g711) - (93.2 - 2.4)) < 1e-9)
        let far = EModel.rating(oneWayDelayMs: 300, packetLossPercent: 0, codec: .g711)
        #expect(abs(far - (93.2 - 7.2 - 0.11 * (300 - 177.3))) < 1e-9)
        // Loss: 2 % random loss on G.711 with PLC costs 95·2/(2+25.1) ≈ 7.0.
        let lossy = EModel.rating(oneWayDelayMs: 0, packetLossPercent: 2, codec: .g711)
        #expect(abs(lossy - (93.2 - 95 * 2 / 27.1)) < 1e-9)
        #expect(EModel.rating(oneWayDelayMs: 0, packetLossPercent: 2, codec: .opus) > lossy, "Opus is rated more loss-robust")
        #expect(EModel.rating(oneWayDelayMs: 2_000, packetLossPercent: 100, codec: .g711) == 0)
    }
}
