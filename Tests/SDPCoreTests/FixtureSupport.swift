import CoreSupport
import Foundation
import TestSupport
@testable import SDPCore

/// The SDP fixtures under `Fixtures/sdp/` (see `Fixtures/sdp/PROVENANCE.md`).
enum SDPFixtures {
    static let names: [String] = Fixtures.files(in: "sdp", withExtension: "sdp").map(\.lastPathComponent)

    static func text(_ name: String) throws -> String { try Fixtures.text("sdp/" + name) }

    static func parsed(_ name: String) throws -> SessionDescription { try SDPParser.parse(text(name)) }

    /// A fixed test fingerprint (not a real certificate's).
    static let fingerprint = SDPFingerprint(bytes: (0..<32).map { UInt8($0 &* 7 &+ 3) })

    static let hostCandidate = SDPCandidate(
        foundation: "1", component: 1, transport: "udp",
        priority: SDPCandidate.priority(typePreference: 126, localPreference: 65535, component: 1),
        address: "127.0.0.1", port: 40000, type: .host, extensions: [.init("generation", "0")])

    static func endpoint(seed: UInt64, candidates: [SDPCandidate] = [hostCandidate]) -> LocalAudioEndpoint {
        var rng = SeededGenerator(seed: seed)
        return LocalAudioEndpoint.generate(fingerprint: fingerprint, candidates: candidates, using: &rng)
    }

    /// Removes every attribute named `name` at session and media level.
    static func removing(_ name: String, from sdp: SessionDescription) -> SessionDescription {
        var s = sdp
        s.attributes.removeAll { $0.hasName(name) }
        for i in s.media.indices { s.media[i].attributes.removeAll { $0.hasName(name) } }
        return s
    }

    /// Replaces the value of every attribute named `name` at media level.
    static func replacing(_ name: String, with value: String?, in sdp: SessionDescription) -> SessionDescription {
        var s = sdp
        for i in s.media.indices {
            for j in s.media[i].attributes.indices where s.media[i].attributes[j].hasName(name) {
                s.media[i].attributes[j].value = value
            }
        }
        return s
    }

    /// Replaces the media direction attribute of every media section.
    static func withDirection(_ d: SDPMediaDirection, _ sdp: SessionDescription) -> SessionDescription {
        var s = sdp
        for i in s.media.indices {
            s.media[i].attributes.removeAll { a in a.value == nil && SDPMediaDirection(rawValue: a.name) != nil }
            s.media[i].attributes.append(d.attribute)
        }
        return s
    }
}
