/// The parameters of an `a=fmtp:<format> <parameters>` attribute (RFC 8866 §6.15), split on `;`
/// with spaces trimmed (FreeSWITCH writes `useinbandfec=1; stereo=1`, browsers write no spaces).
/// Order is kept; a piece without `=` (e.g. telephone-event's `0-16`, red's `111/111`) has value "".
public struct SDPFormatParameters: Sendable, Equatable, Hashable, CustomStringConvertible {
    public struct Parameter: Sendable, Equatable, Hashable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public var parameters: [Parameter]

    public init(_ parameters: [Parameter] = []) {
        self.parameters = parameters
    }

    /// Builds parameters from `(key, value)` pairs in order.
    public init(_ pairs: KeyValuePairs<String, String>) {
        self.parameters = pairs.map { Parameter($0.key, $0.value) }
    }

    /// Parses the text after the format, e.g. `minptime=10;useinbandfec=1`.
    public init(parsing text: String) {
        self.init(parsing: Substring(text))
    }

    init(parsing text: Substring) {
        var out: [Parameter] = []
        for piece in SDPText.split(text, UInt8(ascii: ";")) {
            let p = SDPText.trimmed(piece)
            if p.isEmpty { continue }
            let (k, v) = SDPText.splitOnce(p, UInt8(ascii: "="))
            out.append(Parameter(String(SDPText.trimmed(k)), v.map { String(SDPText.trimmed($0)) } ?? ""))
        }
        self.parameters = out
    }

    /// The value for `key` (ASCII case-insensitive, RFC 7587 §7 keys are case-insensitive).
    public subscript(key: String) -> String? {
        parameters.first { SDPText.equalsIgnoringCase($0.key, key) }?.value
    }

    /// The value for `key` as an unsigned integer.
    public func integer(_ key: String) -> Int? {
        self[key].flatMap { SDPText.unsigned($0, max: UInt64(Int32.max)) }.map { Int($0) }
    }

    /// True when `key` is `1` (the Opus boolean parameters of RFC 7587 §6.1).
    public func flag(_ key: String) -> Bool { self[key] == "1" }

    public var isEmpty: Bool { parameters.isEmpty }

    /// `k=v;k=v` (no spaces, as browsers write it).
    public var description: String {
        parameters.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }.joined(separator: ";")
    }
}
