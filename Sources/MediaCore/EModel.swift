/// Call-quality estimate from the ITU-T G.107 E-model, in the simplified form used for VoIP
/// monitoring: the transmission rating R from the default basic signal-to-noise rating, the delay
/// impairment Id (G.107 §7.4 approximated by the Cole–Rosenbluth fit) and the effective equipment
/// impairment Ie-eff (G.107 §7.5, with the codec's packet-loss robustness Bpl), then MOS from R
/// (G.107 Annex B).
public enum EModel {
    /// The codec terms of G.107 §7.5 / G.113 Appendix I: Ie (impairment without loss) and Bpl
    /// (packet-loss robustness).
    public struct Codec: Sendable, Equatable {
        public var ie: Double
        public var bpl: Double
        public init(ie: Double, bpl: Double) {
            self.ie = ie
            self.bpl = bpl
        }
        /// G.711 with packet-loss concealment (G.113 Appendix I: Ie 0, Bpl 25.1).
        public static let g711 = Codec(ie: 0, bpl: 25.1)
        /// Opus: G.113 gives no values; rated like G.711 with concealment, with more loss robustness
        /// for its PLC and in-band FEC (Bpl 30). An assumption, stated as such.
        public static let opus = Codec(ie: 0, bpl: 30)
    }

    /// R0 − Is with G.107's default parameters.
    static let basicRating = 93.2

    /// R in 0...100 for a one-way mouth-to-ear delay (ms) and a random packet loss (percent).
    public static func rating(oneWayDelayMs d: Double, packetLossPercent ppl: Double, codec: Codec, burstRatio: Double = 1) -> Double {
        let delay = max(0, d)
        let id = 0.024 * delay + (delay > 177.3 ? 0.11 * (delay - 177.3) : 0)
        let loss = min(max(0, ppl), 100)
        let ieEff = codec.ie + (95 - codec.ie) * loss / (loss / max(burstRatio, 1) + codec.bpl)
        return min(100, max(0, basicRating - id - ieEff))
    }

    /// MOS (1...4.5) from R (G.107 Annex B, B.4).
    public static func mos(rating r: Double) -> Double {
        if r <= 0 { return 1 }
        if r >= 100 { return 4.5 }
        return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
    }
}
