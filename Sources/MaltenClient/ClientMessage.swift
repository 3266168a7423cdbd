import FoundationEssentials

/// A message object as the server writes it (and as `--json` prints it, `Text` opened).
public struct ClientMessage: Decodable, Sendable {
    public var Id: String?
    public var Text: String?
    public var `Type`: String
    public var Created: String?
    public var Stream: String?

    /// One line of JSON, the fields in the server's order.
    func jsonLine() -> String {
        func string(_ value: String?) -> String {
            guard let value else { return "null" }
            var out = "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20:
                    out += "\\u00" + String(scalar.value >> 4, radix: 16) + String(scalar.value & 15, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        return "{\"Id\":\(string(Id)),\"Text\":\(string(Text)),\"Type\":\(string(Type)),\"Created\":\(string(Created)),"
            + "\"Stream\":\(string(Stream)),\"Metadata\":null}"
    }
}
