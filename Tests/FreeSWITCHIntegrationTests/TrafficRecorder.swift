import Foundation
import NIOConcurrencyHelpers
import VertoCore
import WebitelCTI

/// Everything one provider scenario's providers sent and received — Verto frames, the PBX's channel
/// events — in the order it was seen, with the time since the scenario began. Scenarios read it to
/// check their events against what the server actually sent (not against a prediction), and
/// `scripts/capture-freeswitch` writes it out as a transcript (`Fixtures/freeswitch-transcripts`).
final class TrafficRecorder: Sendable {
    enum Kind: String, Sendable { case c2s, s2c, esl }
    struct Entry: Sendable {
        var user: String
        var kind: Kind
        var ms: Int
        var text: String
    }

    private let start = ContinuousClock.now
    private let box = NIOLockedValueBox<[Entry]>([])

    func record(_ user: String, _ kind: Kind, _ text: String) {
        let elapsed = ContinuousClock.now - start
        let ms = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        box.withLockedValue { $0.append(Entry(user: user, kind: kind, ms: ms, text: text)) }
    }

    var entries: [Entry] { box.withLockedValue { $0 } }

    /// The requests `user` received with `method`, as (params) objects, in order.
    func received(by user: String, method: String) -> [JSONObject] {
        entries.compactMap { e in
            guard e.user == user, e.kind == .s2c, case .object(let o)? = try? JSONCodec.parse(e.text),
                  o.string("method") == method else { return nil }
            return o.object("params") ?? [:]
        }
    }

    /// The parties `user`'s `verto.display`s named for `callID`, in order.
    func displays(to user: String, callID: String) -> [DisplayedParty] {
        received(by: user, method: "verto.display").filter { $0.string("callID") == callID }.map {
            DisplayedParty(name: $0.string("display_name"), number: $0.string("display_number"))
        }
    }

    /// The params of the `verto.invite` `user` received for `callID`.
    func invite(to user: String, callID: String) -> JSONObject? {
        received(by: user, method: "verto.invite").first { $0.string("callID") == callID }
    }
}

/// A party as one `verto.display` names it.
struct DisplayedParty: Sendable, Equatable, CustomStringConvertible {
    var name: String?
    var number: String?
    /// What the provider shows for it: the number, else the name.
    var shown: String? { (number?.isEmpty == false ? number : nil) ?? name }
    var description: String { "\(name ?? "-")/\(number ?? "-")" }
}

/// The parties a call's displays name in turn that differ from the one shown before — starting
/// from `shown`, the party the call showed when the displays began. The provider raises one
/// `onBridgeCall` for each (WebitelCtiProvider's display rule), so a scenario expects as many.
func newParties(from shown: String, _ displays: [DisplayedParty]) -> [DisplayedParty] {
    var current = shown
    var out: [DisplayedParty] = []
    for d in displays {
        guard let s = d.shown, !s.isEmpty, s != current else { continue }
        current = s
        out.append(d)
    }
    return out
}
